// For stages that read protobuf text files of their own (cnn_train's ModelSpec files): the checks
// the engine makes on graph files before protobuf parses them, so such a file is refused the same
// way, at its file:line:column, instead of overflowing protobuf's stack or storing names that
// are not UTF-8 (a checkpoint holding one never loads).
#pragma once

#include <string>
#include <string_view>

namespace pipeline {

// Throws std::runtime_error "file:line:column: <what>" for the first problem in `text`: nesting
// deeper than protobuf's parser survives, or a string literal that is not UTF-8.
void RequireProtoTextWithinLimits(std::string_view text, const std::string& file);

}  // namespace pipeline
