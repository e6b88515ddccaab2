// Whether the files a parameter names are there to be read (ParamPath), for graph validation.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "pipeline/params.h"

namespace pipeline {
namespace {

namespace fs = std::filesystem;

std::string Trim(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  const size_t last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

// Empty when `path` can be opened for reading (a folder too when `folder_ok`), else why not, in
// the words of the system ("No such file or directory", "Permission denied").
std::string Readable(const std::string& path, bool folder_ok) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error || !fs::exists(status)) {
    return path + ": " + std::strerror(error ? error.value() : ENOENT);
  }
  if (fs::is_directory(status) && !folder_ok) return path + ": is a folder, not a file";
  if (::access(path.c_str(), R_OK) != 0) return path + ": " + std::strerror(errno);
  return "";
}

std::string CheckPathList(const std::string& text) {
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = Trim(std::string_view(text).substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) continue;
    if (item[0] == '@') {
      if (std::string problem = Readable(item.substr(1), false); !problem.empty()) {
        return "@" + problem;
      }
      continue;
    }
    std::error_code error;
    // A glob is expanded by the stage; a file whose name holds * ? [ is still a file.
    if (item.find_first_of("*?[") != std::string::npos && !fs::exists(item, error)) continue;
    if (std::string problem = Readable(item, true); !problem.empty()) return problem;
  }
  return "";
}

}  // namespace

ParamSpec InputFile(ParamSpec spec, std::vector<std::string> builtin_values) {
  spec.path = ParamPath::kInputFile;
  spec.builtin_values = std::move(builtin_values);
  return spec;
}

ParamSpec InputPaths(ParamSpec spec) {
  spec.path = ParamPath::kInputPaths;
  return spec;
}

std::string CheckInputPath(const ParamSpec& spec, const std::string& text) {
  switch (spec.path) {
    case ParamPath::kNone:
      return "";
    case ParamPath::kInputFile:
      if (text.empty() || text.find("://") != std::string::npos) return "";
      for (const std::string& builtin : spec.builtin_values) {
        if (text == builtin) return "";
      }
      return Readable(text, false);
    case ParamPath::kInputPaths:
      return CheckPathList(text);
  }
  return "";
}

}  // namespace pipeline
