#include "supernet/datasets/image_file.h"

#include <png.h>
// jpeglib.h needs size_t and FILE declared first.
#include <cstddef>
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>

#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <cstring>
#include <fstream>
#include <iterator>

#include "search_spaces/atomic_file.h"

namespace tinynas {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError("cannot be opened");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ImageError("cannot be read");
  return bytes;
}

// PIL's convert("L"): ITU-R BT.601 luma in 16-bit fixed point, rounded.
uint8_t luma(const uint8_t* rgb) {
  return static_cast<uint8_t>((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
}

Image decode_png(const std::string& bytes) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    const std::string why = png.message;
    png_image_free(&png);
    throw ImageError("corrupt PNG (" + why + ")");
  }
  const bool colour = png.format & PNG_FORMAT_FLAG_COLOR;
  const bool alpha = png.format & PNG_FORMAT_FLAG_ALPHA;
  // With alpha kept in the read format libpng does not composite; the alpha byte is dropped
  // below (as PIL's convert("RGB") does).
  png.format = colour ? (alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB) : (alpha ? PNG_FORMAT_GA : PNG_FORMAT_GRAY);
  const int stored = PNG_IMAGE_PIXEL_CHANNELS(png.format);
  Image out;
  out.height = static_cast<int>(png.height);
  out.width = static_cast<int>(png.width);
  out.channels = colour ? 3 : 1;
  std::vector<uint8_t> buffer(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, buffer.data(), 0, nullptr)) {
    const std::string why = png.message;
    png_image_free(&png);
    throw ImageError("corrupt PNG (" + why + ")");
  }
  if (!alpha) {
    out.pixels = std::move(buffer);
    return out;
  }
  const std::size_t n = static_cast<std::size_t>(out.height) * out.width;
  out.pixels.resize(n * out.channels);
  for (std::size_t i = 0; i < n; ++i) {
    std::memcpy(&out.pixels[i * out.channels], &buffer[i * stored], out.channels);
  }
  return out;
}

struct JpegErrors {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

void jpeg_fail(j_common_ptr info) {
  auto* e = reinterpret_cast<JpegErrors*>(info->err);
  (*info->err->format_message)(info, e->message);
  std::longjmp(e->jump, 1);
}

// libjpeg reports a truncated file as a warning and fills the missing rows with grey: that is
// a damaged file for us, not an image to train on. Other warnings (extraneous bytes between
// markers) leave the pixels intact.
void jpeg_message(j_common_ptr info, int level) {
  auto* e = reinterpret_cast<JpegErrors*>(info->err);
  if (level < 0 && (info->err->msg_code == JWRN_JPEG_EOF || info->err->msg_code == JWRN_HIT_MARKER)) {
    if (!e->truncated) (*info->err->format_message)(info, e->message);
    e->truncated = true;
  }
}

// Plain C state only between setjmp and longjmp: `out` and `why` belong to the caller.
bool decode_jpeg_into(const std::string& bytes, Image* out, std::string* why) {
  jpeg_decompress_struct info;
  JpegErrors errors;
  info.err = jpeg_std_error(&errors.mgr);
  errors.mgr.error_exit = jpeg_fail;
  errors.mgr.emit_message = jpeg_message;
  errors.truncated = false;
  errors.message[0] = '\0';
  if (setjmp(errors.jump)) {
    *why = errors.message;
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
    std::strcpy(errors.message, "a CMYK JPEG; expected greyscale or colour (YCbCr/RGB)");
    jpeg_destroy_decompress(&info);
    *why = errors.message;
    return false;
  }
  const bool grey = info.num_components == 1;
  info.out_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&info);
  out->height = static_cast<int>(info.output_height);
  out->width = static_cast<int>(info.output_width);
  out->channels = static_cast<int>(info.output_components);
  const std::size_t stride = static_cast<std::size_t>(out->width) * out->channels;
  out->pixels.resize(stride * out->height);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = out->pixels.data() + stride * info.output_scanline;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  if (errors.truncated) {
    *why = errors.message;
    return false;
  }
  return true;
}

Image decode_jpeg(const std::string& bytes) {
  Image out;
  std::string why;
  if (!decode_jpeg_into(bytes, &out, &why)) throw ImageError("corrupt JPEG (" + why + ")");
  return out;
}

}  // namespace

bool has_image_extension(const std::string& name) {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  const std::string ext = lower(name.substr(dot + 1));
  return ext == "png" || ext == "jpg" || ext == "jpeg";
}

Image convert_channels(Image image, int channels) {
  if (channels == 0 || channels == image.channels) return image;
  if (channels != 1 && channels != 3) {
    throw std::invalid_argument("convert_channels: expected 1 or 3 channels, got " + std::to_string(channels));
  }
  const std::size_t n = static_cast<std::size_t>(image.height) * image.width;
  std::vector<uint8_t> pixels(n * channels);
  if (channels == 1) {
    for (std::size_t i = 0; i < n; ++i) pixels[i] = luma(&image.pixels[i * 3]);
  } else {
    for (std::size_t i = 0; i < n; ++i) std::fill_n(&pixels[i * 3], 3, image.pixels[i]);
  }
  image.pixels = std::move(pixels);
  image.channels = channels;
  return image;
}

Image read_image(const std::string& path, int channels) {
  const std::string bytes = read_bytes(path);
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.empty()) throw ImageError("empty file");
  Image image;
  if (bytes.size() >= 8 && png_sig_cmp(b, 0, 8) == 0) {
    image = decode_png(bytes);
  } else if (bytes.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) {
    image = decode_jpeg(bytes);
  } else {
    throw ImageError("neither a PNG nor a JPEG (by its first bytes)");
  }
  if (image.height <= 0 || image.width <= 0) throw ImageError("has no pixels");
  return convert_channels(std::move(image), channels);
}

void write_png(const std::string& path, const Image& image) {
  if (image.channels != 1 && image.channels != 3) {
    throw std::runtime_error(path + ": write_png takes grey or RGB, got " +
                             std::to_string(image.channels) + " channels");
  }
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = image.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  if (!png_image_write_get_memory_size(png, size, 0, image.pixels.data(), 0, nullptr)) {
    throw std::runtime_error(path + ": PNG encoding failed (" + std::string(png.message) + ")");
  }
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&png, bytes.data(), &size, 0, image.pixels.data(), 0, nullptr)) {
    throw std::runtime_error(path + ": PNG encoding failed (" + std::string(png.message) + ")");
  }
  bytes.resize(size);
  write_file_atomic(path, bytes);
}

}  // namespace tinynas
