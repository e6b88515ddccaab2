#include "pipeline/engine/diagnostic.h"

#include "pipeline/utf8.h"

namespace pipeline {

std::string Diagnostic::format() const {
  std::string text = file;
  if (line > 0) {
    text += ":" + std::to_string(line);
    if (column > 0) text += ":" + std::to_string(column);
  }
  text += ": error: ";
  if (!stage.empty()) text += "stage \"" + stage + "\": ";
  // A name quoted from a file that is not UTF-8 must not make the message itself invalid text.
  return ReplaceInvalidUtf8(text + message);
}

std::string FormatAll(const std::vector<Diagnostic>& diagnostics) {
  std::string text;
  for (const auto& diagnostic : diagnostics) text += diagnostic.format() + "\n";
  return text;
}

}  // namespace pipeline
