// What an operator's C emission sees of the code generator (nas/export/codegen.cpp): the two
// output streams of model.c, the constants writer, the tensors' quantisation, the planned scratch
// buffers and the profiler hooks. An operator writes its own parameter block and kernel call;
// the generator owns the arena, the patch loop and the file around them.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "ops/numerics.h"

namespace tinynas {

class EmitContext {
 public:
  virtual ~EmitContext() = default;
  virtual std::ostringstream& data() = 0;  // file-scope constants
  virtual std::ostringstream& body() = 0;  // statements of tinynas_invoke()
  // `static const <type> name[n] = {...};` into data(), counted in the model's constant bytes.
  virtual void array(const std::string& name, const std::vector<int8_t>& v) = 0;
  virtual void array(const std::string& name, const std::vector<int16_t>& v) = 0;
  virtual void array(const std::string& name, const std::vector<int32_t>& v) = 0;
  virtual const QuantParams& quant(int tensor) const = 0;
  // The planned scratch buffer of a layer as a C argument ("0" without one); q15 casts it to
  // int16_t * for the kernels whose im2col buffer is q15.
  virtual std::string scratch(int layer, bool q15) const = 0;
  // TN_PROFILE_END(...) for one run of layer i, its sizes given as C expressions.
  virtual std::string profile_end(int layer, const std::string& slot, const std::string& h_in,
                                  const std::string& w_in, const std::string& h_out,
                                  const std::string& w_out, const std::string& macs) const = 0;
};

}  // namespace tinynas
