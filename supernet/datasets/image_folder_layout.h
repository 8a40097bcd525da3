// The class-folder layout of a user's own images as plain data (no LibTorch): which file is in
// which split with which label. Two layouts, as torchvision's ImageFolder users have them:
//
//   root/<class>/**/*.png|jpg|jpeg                       one pool; the dataset holds out the test
//                                                        split (data.test_fraction, seeded)
//   root/train/<class>/...  [root/val/<class>/...]  [root/test/<class>/...]
//
// Class names are the train folders' names, sorted (label = position). Files in class folders
// are read recursively in sorted order. Anything that is not an image by its name (.png, .jpg,
// .jpeg) is listed in `skipped` with the reason, so the log can name it; hidden entries (dot
// files such as .DS_Store, a generator's stamp) are counted; nothing is dropped silently. A class folder without an image, a val/test class that training does not have, or a
// root with no class folder is a ConfigError naming the folder.
#pragma once

#include <string>
#include <vector>

namespace tinynas {

struct ImageFile {
  std::string path;
  int label = 0;
};

struct ImageFolderLayout {
  std::string root;
  std::vector<std::string> classes;
  bool split_folders = false;          // root/train/ (and optionally val/, test/)
  bool has_val = false, has_test = false;
  std::vector<ImageFile> split[3];     // train, val, test (Split order); flat: all in train
  std::vector<std::string> skipped;    // "<path>: <why>"
  int hidden = 0;                      // dot files and folders (.DS_Store, stamps): not read
};

ImageFolderLayout scan_image_folder(const std::string& root);

}  // namespace tinynas
