// Private to graph loading: protobuf text-format parsing that reports every syntax error with a
// 1-based file:line:column, and the mapping from protobuf's locations to ours.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <string>
#include <string_view>
#include <vector>

#include "pipeline/engine/diagnostic.h"
#include "pipeline/engine/graph_validate.h"

namespace pipeline::graph_detail {

// The text being parsed, indexed by line so that protobuf's positions (0-based, with tabs
// advancing to the next multiple of 8) become ours (1-based, one column per byte).
class SourceText {
 public:
  explicit SourceText(std::string_view text);

  SourcePosition FromProtobuf(int line, int column) const;
  SourcePosition FromProtobuf(const google::protobuf::TextFormat::ParseLocation& location) const {
    return FromProtobuf(location.line, location.column);
  }
  // Where each value of a field starts, given the position of the field's name: one position for
  // `name: "x"`, one per element for `name: ["x", "y"]`.
  std::vector<SourcePosition> ValuesOfField(SourcePosition field_name) const;
  std::string_view line_text(int line) const;  // 1-based; without the newline
  size_t offset_of(SourcePosition position) const;
  SourcePosition position_of(size_t offset) const;

 private:
  size_t skip_blanks(size_t offset) const;  // whitespace and # comments
  size_t skip_token(size_t offset) const;   // one string (with escapes) or bare word

  std::string_view text_;
  std::vector<size_t> line_starts_;
};

// Parses `text` into `message`, recording locations in `tree`. Returns every syntax error found:
// after the first error, each top-level statement is re-parsed on its own so that errors in
// later stages are reported too. Unknown field names are errors with a "did you mean".
std::vector<Diagnostic> ParseTextProto(const std::string& text, const std::string& file,
                                       google::protobuf::Message& message,
                                       google::protobuf::TextFormat::ParseInfoTree& tree);

// Sets Diagnostic::stage of each syntax error inside a graph file's `stage { name: "x" ... }` block
// (one written on its own, not as a list) that has no stage yet.
void NameStagesOfSyntaxErrors(const std::string& text, std::vector<Diagnostic>& errors);

// Locations of the parts of one parsed StageSpec; `stage_tree` is the StageSpec's nested tree,
// `block` where its block starts (unknown when the caller does not know).
StageLocations LocateStage(const SourceText& source,
                           const google::protobuf::TextFormat::ParseInfoTree& stage_tree,
                           const proto::StageSpec& spec, SourcePosition block);

}  // namespace pipeline::graph_detail
