// Image files for the image datasets (class folders of a user's own data): PNG through libpng,
// JPEG through libjpeg-turbo, recognised by their signature, not their name. Plain C++ (no
// LibTorch). A file that cannot be decoded throws ImageError saying why, so the dataset can
// name it in its report.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tinynas {

class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// 8-bit pixels, rows of interleaved channels (HWC): 1 = grey, 3 = RGB.
struct Image {
  int height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// The file names an image dataset reads: .png, .jpg, .jpeg (any case).
bool has_image_extension(const std::string& name);

// Decodes `path` to `channels` (1: grey, by ITU-R BT.601 luma as PIL's convert("L"); 3: RGB,
// grey replicated; 0: as stored, 1 for grey files and 3 for colour). Alpha is dropped (not
// composited), palettes are expanded and 16-bit samples reduced to 8. Throws ImageError with
// the reason (not a PNG or JPEG, truncated, corrupt data, CMYK JPEG, ...).
Image read_image(const std::string& path, int channels = 0);

// Grey <-> RGB as read_image does it.
Image convert_channels(Image image, int channels);

// Writes an 8-bit grey or RGB PNG atomically (a temporary file, then rename). Throws
// std::runtime_error naming the path.
void write_png(const std::string& path, const Image& image);

}  // namespace tinynas
