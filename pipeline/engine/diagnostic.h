// An error found in a graph, with where it is.
#pragma once

#include <string>
#include <vector>

namespace pipeline {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string stage;  // stage name when the error belongs to one
  std::string message;

  // "file:line:column: stage "x": message"
  std::string format() const;
};

std::string FormatAll(const std::vector<Diagnostic>& diagnostics);

}  // namespace pipeline
