// The table of stage types. Standard stages and plugin libraries register through the same API.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/stage.h"

namespace pipeline {

class Registry {
 public:
  struct Entry {
    StageInfo info;
    std::string library;          // library name from its descriptor, e.g. "standard"
    std::string library_version;  // from its descriptor
    std::string origin;           // the plugin file, or "built-in"
  };

  // Checks the declaration (non-empty unique name, ports typed, defaults valid) and adds it.
  // Throws std::invalid_argument naming the stage and the problem.
  void add(StageInfo info);

  const Entry* find(std::string_view name) const;
  std::vector<const Entry*> all() const;  // sorted by name
  // Registered names closest to `name` (for "did you mean").
  std::vector<std::string> closest(std::string_view name, size_t max_results = 3) const;

  // Set by the plugin loader around a library's registration so entries know where they came
  // from. Entries added during a failed registration are removed again.
  void begin_library(std::string library, std::string version, std::string origin);
  void end_library(bool keep);

 private:
  std::map<std::string, Entry, std::less<>> entries_;
  std::vector<std::string> added_by_current_;
  std::string library_ = "standard", version_, origin_ = "built-in";
};

}  // namespace pipeline
