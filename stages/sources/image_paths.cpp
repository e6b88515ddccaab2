#include "stages/sources/image_paths.h"

#include <glob.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string_view>

namespace pipeline {
namespace {

namespace fs = std::filesystem;

// Files a folder yields. Only PNG, JPEG, BMP, TIFF and WebP are decoded; the others are picked up
// too so that each gets a row saying it was refused, rather than vanishing from the results.
constexpr std::array<std::string_view, 21> kImageExtensions = {
    ".png", ".jpg", ".jpeg", ".jpe", ".bmp", ".dib", ".tif", ".tiff", ".webp", ".pgm", ".ppm",
    ".pbm", ".pnm", ".pxm",  ".pfm", ".sr",  ".ras", ".exr", ".hdr",  ".jp2",  ".gif"};

std::string Trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return "";
  return std::string(text.substr(first, text.find_last_not_of(" \t\r") - first + 1));
}

bool IsHidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

void AddFolder(const fs::path& folder, const std::string& item, std::vector<std::string>& files) {
  std::vector<std::string> found;
  std::error_code error;
  fs::recursive_directory_iterator walk(folder, fs::directory_options::skip_permission_denied,
                                        error);
  if (error) throw std::runtime_error(item + ": cannot list the folder: " + error.message());
  for (auto it = walk; it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) throw std::runtime_error(item + ": cannot list the folder: " + error.message());
    if (IsHidden(it->path())) {
      if (it->is_directory(error)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(error) && HasImageExtension(it->path().string())) {
      found.push_back(it->path().string());
    }
  }
  if (found.empty()) {
    throw std::runtime_error(item +
                             ": the folder holds no image files (.png, .jpg, .jpeg, .bmp, "
                             ".tif, .tiff, .webp, ...)");
  }
  std::sort(found.begin(), found.end());
  files.insert(files.end(), found.begin(), found.end());
}

void AddGlob(const std::string& pattern, std::vector<std::string>& files) {
  glob_t matches{};
  const int status = ::glob(pattern.c_str(), 0, nullptr, &matches);
  std::vector<std::string> found;
  if (status == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) {
      std::error_code error;
      if (fs::is_regular_file(matches.gl_pathv[i], error)) found.emplace_back(matches.gl_pathv[i]);
    }
  }
  ::globfree(&matches);
  if (status != 0 && status != GLOB_NOMATCH) {
    throw std::runtime_error(pattern + ": cannot expand the pattern (read error)");
  }
  if (found.empty()) throw std::runtime_error(pattern + ": matches no file");
  std::sort(found.begin(), found.end());
  files.insert(files.end(), found.begin(), found.end());
}

void AddItem(const std::string& item, std::vector<std::string>& files, bool allow_list);

void AddList(const std::string& list_path, std::vector<std::string>& files) {
  std::ifstream list(list_path);
  if (!list) throw std::runtime_error("@" + list_path + ": cannot read the list file");
  const fs::path base = fs::path(list_path).parent_path();
  std::string line;
  int line_number = 0;
  const size_t before = files.size();
  while (std::getline(list, line)) {
    ++line_number;
    const std::string entry = Trim(line);
    if (entry.empty() || entry[0] == '#') continue;
    const fs::path path(entry);
    const std::string resolved =
        path.is_absolute() ? entry : (base / path).lexically_normal().string();
    // A missing file in a list is still a row (with its error): the list is what the user asked
    // for. Folders and globs must match something.
    std::error_code error;
    if (resolved.find_first_of("*?[") == std::string::npos && !fs::is_directory(resolved, error)) {
      files.push_back(resolved);
      continue;
    }
    try {
      AddItem(resolved, files, /*allow_list=*/false);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("@" + list_path + " line " + std::to_string(line_number) + ": " +
                               e.what());
    }
  }
  if (files.size() == before) throw std::runtime_error("@" + list_path + ": lists no file");
}

void AddItem(const std::string& item, std::vector<std::string>& files, bool allow_list) {
  if (allow_list && item[0] == '@') {
    AddList(item.substr(1), files);
    return;
  }
  std::error_code error;
  const fs::file_status status = fs::status(item, error);
  if (fs::is_directory(status)) {
    AddFolder(item, item, files);
  } else if (fs::exists(status)) {
    files.push_back(item);
  } else if (item.find_first_of("*?[") != std::string::npos) {
    AddGlob(item, files);
  } else {
    throw std::runtime_error(item + ": no such file or folder");
  }
}

}  // namespace

bool HasImageExtension(const std::string& path) {
  std::string extension = fs::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(kImageExtensions.begin(), kImageExtensions.end(), extension) !=
         kImageExtensions.end();
}

std::vector<std::string> ExpandImagePaths(const std::string& spec) {
  std::vector<std::string> files;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = Trim(std::string_view(spec).substr(start, comma - start));
    if (!item.empty()) AddItem(item, files, /*allow_list=*/true);
    start = comma + 1;
  }
  if (files.empty()) throw std::runtime_error("path is empty: name a file, folder, glob or @list");
  return files;
}

}  // namespace pipeline
