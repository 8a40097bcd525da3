#include "supernet/datasets/image_folder_layout.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "search_spaces/config_node.h"
#include "supernet/datasets/image_file.h"

namespace tinynas {

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    out.push_back(it->path());
  }
  if (ec) throw ConfigError(dir.string() + ": cannot be listed (" + ec.message() + ")");
  std::sort(out.begin(), out.end());
  return out;
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// The images under a class folder, recursively in sorted order; anything else into `skipped`.
bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

void collect(const fs::path& dir, int label, ImageFolderLayout* out, std::vector<ImageFile>* files) {
  for (const fs::path& p : sorted_entries(dir)) {
    const std::string name = p.filename().string();
    if (hidden(p)) {
      ++out->hidden;
    } else if (is_dir(p)) {
      collect(p, label, out, files);
    } else if (!has_image_extension(name)) {
      out->skipped.push_back(p.string() + ": not an image (expected .png, .jpg or .jpeg)");
    } else {
      files->push_back({p.string(), label});
    }
  }
}

// The class folders of `dir` (sorted names); plain files there go to `skipped`.
std::vector<std::string> class_folders(const fs::path& dir, ImageFolderLayout* layout) {
  std::vector<std::string> out;
  for (const fs::path& p : sorted_entries(dir)) {
    if (hidden(p)) {
      ++layout->hidden;
    } else if (is_dir(p)) {
      out.push_back(p.filename().string());
    } else {
      layout->skipped.push_back(p.string() + ": not in a class folder, not read");
    }
  }
  return out;
}

}  // namespace

ImageFolderLayout scan_image_folder(const std::string& root_path) {
  ImageFolderLayout out;
  out.root = root_path;
  const fs::path root(root_path);
  if (!is_dir(root)) {
    throw ConfigError(root_path + ": no such folder (data.path); expected class folders "
                      "(<root>/<class>/*.png|jpg) or train/ [val/] [test/] folders of them");
  }
  out.split_folders = is_dir(root / "train");
  const fs::path train_dir = out.split_folders ? root / "train" : root;
  if (out.split_folders) {
    for (const fs::path& p : sorted_entries(root)) {
      const std::string name = p.filename().string();
      if (name == "train" || name == "val" || name == "test") continue;
      if (hidden(p)) {
        ++out.hidden;
      } else {
        out.skipped.push_back(p.string() + ": not train/, val/ or test/, not read");
      }
    }
  }
  out.classes = class_folders(train_dir, &out);
  if (out.classes.empty()) {
    throw ConfigError(train_dir.string() + ": no class folders; expected one folder of images per "
                      "class (<class>/*.png|jpg)");
  }
  for (int c = 0; c < static_cast<int>(out.classes.size()); ++c) {
    const std::size_t before = out.split[0].size();
    collect(train_dir / out.classes[c], c, &out, &out.split[0]);
    if (out.split[0].size() == before) {
      throw ConfigError((train_dir / out.classes[c]).string() + ": class '" + out.classes[c] +
                        "' has no images (.png, .jpg, .jpeg); add some or remove the folder");
    }
  }
  if (!out.split_folders) return out;
  const char* const names[] = {"val", "test"};
  for (int s = 1; s <= 2; ++s) {
    const fs::path dir = root / names[s - 1];
    if (!is_dir(dir)) continue;
    (s == 1 ? out.has_val : out.has_test) = true;
    for (const std::string& cls : class_folders(dir, &out)) {
      const auto it = std::find(out.classes.begin(), out.classes.end(), cls);
      if (it == out.classes.end()) {
        throw ConfigError((dir / cls).string() + ": class '" + cls + "' is not in " +
                          train_dir.string() + " (the classes are the training folders)");
      }
      collect(dir / cls, static_cast<int>(it - out.classes.begin()), &out, &out.split[s]);
    }
  }
  return out;
}

}  // namespace tinynas
