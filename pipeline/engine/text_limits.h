// Checks on protobuf text (graph files, ModelSpec files) made before protobuf parses it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pipeline/engine/diagnostic.h"

namespace pipeline {

// Deeper nesting than this is refused: protobuf's text parser skips unknown fields by recursion
// without a limit, so `stage { stage { ... } }` thousands deep overflows the stack. Our files
// nest two or three levels.
inline constexpr int kMaxTextNesting = 64;

// Finds, outside comments and strings, the first `{` or `<` nested deeper than kMaxTextNesting,
// and every string literal that is not UTF-8 once its escapes (\xE9, \351) are decoded (protobuf
// stores such a string but then cannot serialise it, so a checkpoint holding it never loads).
// Each problem is reported at its file:line:column.
std::vector<Diagnostic> CheckProtoTextLimits(std::string_view text, const std::string& file);

}  // namespace pipeline
