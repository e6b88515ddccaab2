#include "pipeline/engine/graph_text.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include "pipeline/engine/spelling.h"
#include "pipeline/engine/text_limits.h"

namespace pipeline::graph_detail {
namespace {

namespace gp = google::protobuf;

constexpr int kProtobufTabWidth = 8;  // how protobuf's tokenizer counts a tab

bool IsQuote(char c) { return c == '"' || c == '\''; }
bool IsWordStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
         c == '+';
}

// Offset just past the string literal starting at `offset` (or at the end of its line when it is
// not closed there, as protobuf does).
size_t SkipString(std::string_view text, size_t offset) {
  const char quote = text[offset++];
  while (offset < text.size() && text[offset] != quote && text[offset] != '\n') {
    offset += text[offset] == '\\' ? 2 : 1;
  }
  return std::min(text.size(), offset + 1);
}

// Turns protobuf's "Message type "pipeline.proto.StageSpec" has no field named "nme"." into our
// wording with a "did you mean"; returns "" for any other message.
std::string ExplainUnknownField(const std::string& message, std::string& field_name) {
  static const std::string kPrefix = "Message type \"";
  static const std::string kMiddle = "\" has no field named \"";
  if (message.rfind(kPrefix, 0) != 0) return "";
  const size_t middle = message.find(kMiddle);
  if (middle == std::string::npos) return "";
  const std::string type_name = message.substr(kPrefix.size(), middle - kPrefix.size());
  const size_t name_start = middle + kMiddle.size();
  const size_t name_end = message.find('"', name_start);
  if (name_end == std::string::npos) return "";
  field_name = message.substr(name_start, name_end - name_start);

  const gp::Descriptor* type =
      gp::DescriptorPool::generated_pool()->FindMessageTypeByName(type_name);
  std::vector<std::string> known;
  for (int i = 0; type != nullptr && i < type->field_count(); ++i) {
    known.push_back(type->field(i)->name());
  }
  const std::string short_type = type ? type->name() : type_name;
  std::string text = "unknown field \"" + field_name + "\" in " + short_type;
  const std::string suggestion = DidYouMean(field_name, known);
  if (!suggestion.empty()) return text + suggestion;
  std::string listed;
  for (const auto& name : known) listed += (listed.empty() ? "" : ", ") + name;
  return text + " (its fields: " + listed + ")";
}

// Collects protobuf's errors as diagnostics. Unknown fields are errors too: we let the parser skip
// them (so that it goes on and finds them all), and it reports each one as a warning.
class DiagnosticCollector : public gp::io::ErrorCollector {
 public:
  // `first_line`: the 0-based line of the whole text where the parsed text starts (a statement
  // re-parsed on its own is given from its first line on, not as the whole text).
  DiagnosticCollector(const SourceText& source, std::string file, std::vector<Diagnostic>& out,
                      int first_line)
      : source_(source), file_(std::move(file)), out_(out), first_line_(first_line) {}

  void AddError(int line, gp::io::ColumnNumber column, const std::string& message) override {
    add(line, column, message, false);
  }
  void AddWarning(int line, gp::io::ColumnNumber column, const std::string& message) override {
    add(line, column, message, true);
  }

 private:
  void add(int line, int column, const std::string& message, bool warning) {
    SourcePosition position = source_.FromProtobuf(line + first_line_, column);
    std::string field_name;
    std::string text = ExplainUnknownField(message, field_name);
    if (text.empty() && warning) return;  // nothing else protobuf warns about matters here
    if (!text.empty()) {
      // Protobuf points just after the field name; point at the name itself.
      const std::string_view line_text = source_.line_text(position.line);
      const size_t before = static_cast<size_t>(std::max(0, position.column - 1));
      const size_t start = line_text.rfind(field_name, before);
      if (start != std::string_view::npos) position.column = static_cast<int>(start) + 1;
    } else {
      // Protobuf writes "Expected ...", a sentence; ours continue after "syntax error: ".
      std::string detail = message;
      if (!detail.empty() && detail.back() == '.') detail.pop_back();
      // At the end of the text protobuf names an empty token: "Expected identifier, got: ".
      if (detail.ends_with("got: ")) detail += "the end of the file";
      if (!detail.empty()) {
        detail[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(detail[0])));
      }
      text = "syntax error: " + detail;
    }
    out_.push_back({file_, position.line, position.column, "", std::move(text)});
  }

  const SourceText& source_;
  std::string file_;
  std::vector<Diagnostic>& out_;
  int first_line_;
};

std::vector<Diagnostic> ParseOnce(const std::string& text, const SourceText& source,
                                  const std::string& file, gp::Message& message,
                                  gp::TextFormat::ParseInfoTree* tree, int first_line = 0) {
  std::vector<Diagnostic> errors;
  DiagnosticCollector collector(source, file, errors, first_line);
  gp::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(tree);
  parser.AllowUnknownField(true);
  const bool parsed = parser.ParseFromString(text, &message);
  if (!parsed && errors.empty()) errors.push_back({file, 0, 0, "", "could not parse the text"});
  return errors;
}

// Byte ranges of the top-level statements (`name: "x"`, `stage { ... }`): a statement starts
// with a field name at nesting depth 0 that is not the value of a preceding `:`.
std::vector<std::pair<size_t, size_t>> TopLevelStatements(std::string_view text) {
  std::vector<size_t> starts{0};
  int depth = 0;
  bool after_colon = false;
  size_t offset = 0;
  while (offset < text.size()) {
    const char c = text[offset];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++offset;
    } else if (c == '#') {
      while (offset < text.size() && text[offset] != '\n') ++offset;
    } else if (IsQuote(c)) {
      offset = SkipString(text, offset);
      after_colon = false;
    } else if (IsWordStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      // A number is one token too: the "e308" of `seed: 1e308` starts no statement.
      const size_t start = offset;
      while (offset < text.size() && IsWordChar(text[offset])) ++offset;
      if (IsWordStart(c) && depth == 0 && !after_colon && start != starts.back()) {
        starts.push_back(start);
      }
      after_colon = false;
    } else {
      if (c == '{' || c == '<' || c == '[') ++depth;
      if (c == '}' || c == '>' || c == ']') depth = std::max(0, depth - 1);
      // A sign keeps the value position: `seed: -1`.
      if (c != '-' && c != '+') after_colon = c == ':';
      ++offset;
    }
  }
  std::vector<std::pair<size_t, size_t>> statements;
  for (size_t i = 0; i < starts.size(); ++i) {
    statements.emplace_back(starts[i], i + 1 < starts.size() ? starts[i + 1] : text.size());
  }
  return statements;
}

// The text of [begin, end) from the start of its first line (`line_start`), with what comes
// before `begin` on that line blanked, keeping tabs: protobuf then counts the same columns as in
// the whole text, and its lines are off by the statement's first line only. Copying just this
// span (not the whole text, masked) keeps re-parsing every statement linear in the text's size.
std::string StatementText(std::string_view text, size_t line_start, size_t begin, size_t end) {
  std::string statement(text.substr(line_start, end - line_start));
  for (size_t i = 0; i < begin - line_start; ++i) {
    if (statement[i] != '\t') statement[i] = ' ';
  }
  return statement;
}

}  // namespace

SourceText::SourceText(std::string_view text) : text_(text) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') line_starts_.push_back(i + 1);
  }
}

std::string_view SourceText::line_text(int line) const {
  if (line < 1 || static_cast<size_t>(line) > line_starts_.size()) return {};
  const size_t start = line_starts_[line - 1];
  const size_t end =
      static_cast<size_t>(line) < line_starts_.size() ? line_starts_[line] - 1 : text_.size();
  return text_.substr(start, end - start);
}

SourcePosition SourceText::FromProtobuf(int line, int column) const {
  if (line < 0 || column < 0) return {};
  const std::string_view text = line_text(line + 1);
  int counted = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (counted >= column) return {line + 1, static_cast<int>(i) + 1};
    counted += text[i] == '\t' ? kProtobufTabWidth - counted % kProtobufTabWidth : 1;
  }
  return {line + 1, static_cast<int>(text.size()) + 1 + std::max(0, column - counted)};
}

size_t SourceText::offset_of(SourcePosition position) const {
  if (position.line < 1 || static_cast<size_t>(position.line) > line_starts_.size()) {
    return text_.size();
  }
  return std::min(text_.size(), line_starts_[position.line - 1] + std::max(0, position.column - 1));
}

SourcePosition SourceText::position_of(size_t offset) const {
  const auto next = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const size_t line = static_cast<size_t>(next - line_starts_.begin());  // 1-based
  return {static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1]) + 1};
}

size_t SourceText::skip_blanks(size_t offset) const {
  while (offset < text_.size()) {
    if (text_[offset] == '#') {
      while (offset < text_.size() && text_[offset] != '\n') ++offset;
    } else if (std::isspace(static_cast<unsigned char>(text_[offset]))) {
      ++offset;
    } else {
      break;
    }
  }
  return offset;
}

size_t SourceText::skip_token(size_t offset) const {
  if (offset >= text_.size()) return offset;
  if (IsQuote(text_[offset])) return SkipString(text_, offset);
  const size_t start = offset;
  while (offset < text_.size() && IsWordChar(text_[offset])) ++offset;
  return offset == start ? offset + 1 : offset;
}

std::vector<SourcePosition> SourceText::ValuesOfField(SourcePosition field_name) const {
  if (field_name.line < 1) return {};
  size_t offset = skip_blanks(skip_token(offset_of(field_name)));
  if (offset < text_.size() && text_[offset] == ':') offset = skip_blanks(offset + 1);
  if (offset >= text_.size() || text_[offset] != '[') return {position_of(offset)};

  std::vector<SourcePosition> values;
  offset = skip_blanks(offset + 1);
  while (offset < text_.size() && text_[offset] != ']') {
    values.push_back(position_of(offset));
    // One element may be several adjacent strings ("a" "b"), which protobuf concatenates.
    do {
      offset = skip_blanks(skip_token(offset));
    } while (offset < text_.size() && IsQuote(text_[offset]));
    if (offset >= text_.size() || text_[offset] != ',') break;
    offset = skip_blanks(offset + 1);
  }
  return values;
}

std::vector<Diagnostic> ParseTextProto(const std::string& text, const std::string& file,
                                       gp::Message& message, gp::TextFormat::ParseInfoTree& tree) {
  // Deep nesting would overflow the stack inside protobuf, and a string that is not UTF-8 would
  // parse but never serialise: both are refused before protobuf sees the text.
  std::vector<Diagnostic> errors = CheckProtoTextLimits(text, file);
  if (!errors.empty()) return errors;
  const SourceText source(text);
  errors = ParseOnce(text, source, file, message, &tree);
  if (errors.empty()) return errors;

  // Protobuf stops at its first syntax error; parse each top-level statement alone to find the
  // errors in the others.
  const auto statements = TopLevelStatements(text);
  if (statements.size() > 1) {
    for (const auto& [begin, end] : statements) {
      std::unique_ptr<gp::Message> scratch(message.New());
      gp::TextFormat::ParseInfoTree scratch_tree;
      const SourcePosition first = source.position_of(begin);
      const size_t line_start = begin - static_cast<size_t>(first.column - 1);
      for (auto& error : ParseOnce(StatementText(text, line_start, begin, end), source, file,
                                   *scratch, &scratch_tree, first.line - 1)) {
        // A statement cut short meets the end of its own text, where the next one starts; the
        // error is that of the whole text with the rest blanked: at the end of the file.
        if (end < text.size() && source.offset_of({error.line, error.column}) >= end) {
          const SourcePosition last = source.position_of(text.size());
          error.line = last.line;
          error.column = last.column;
        }
        errors.push_back(std::move(error));
      }
    }
  }
  // Keep the first error reported at each position (the whole-text parse's wins), in order.
  std::stable_sort(errors.begin(), errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  errors.erase(std::unique(errors.begin(), errors.end(),
                           [](const Diagnostic& a, const Diagnostic& b) {
                             return a.line == b.line && a.column == b.column;
                           }),
               errors.end());
  return errors;
}

namespace {

size_t SkipSpaces(std::string_view text, size_t offset) {
  while (offset < text.size() && std::isspace(static_cast<unsigned char>(text[offset]))) ++offset;
  return offset;
}

// The name of a `stage { ... name: "x" ... }` statement read from its text, or "" when it is not
// a stage block or names none: the first `name: "..."` directly inside the block (a Param has no
// `name` field). A scanner, not std::regex: libstdc++'s regex recurses once per character
// matched, and a long name overflowed the stack.
std::string StageNameOf(std::string_view statement) {
  size_t offset = 0;
  while (offset < statement.size() && IsWordChar(statement[offset])) ++offset;
  if (statement.substr(0, offset) != "stage") return "";
  offset = SkipSpaces(statement, offset);
  if (offset < statement.size() && statement[offset] == ':')
    offset = SkipSpaces(statement, offset + 1);
  if (offset >= statement.size() || statement[offset] != '{') return "";
  int depth = 1;
  ++offset;
  while (offset < statement.size()) {
    const char c = statement[offset];
    if (c == '#') {
      while (offset < statement.size() && statement[offset] != '\n') ++offset;
    } else if (IsQuote(c)) {
      offset = SkipString(statement, offset);
    } else if (IsWordStart(c)) {
      const size_t start = offset;
      while (offset < statement.size() && IsWordChar(statement[offset])) ++offset;
      if (depth != 1 || statement.substr(start, offset - start) != "name") continue;
      size_t value = SkipSpaces(statement, offset);
      if (value >= statement.size() || statement[value] != ':') continue;
      value = SkipSpaces(statement, value + 1);
      if (value >= statement.size() || statement[value] != '"') continue;
      // Only a plain string: with escapes it is not the name as written.
      const size_t close = statement.find_first_of("\"\\\n", value + 1);
      if (close == std::string_view::npos || statement[close] != '"') return "";
      return std::string(statement.substr(value + 1, close - value - 1));
    } else {
      if (c == '{' || c == '<' || c == '[') ++depth;
      if ((c == '}' || c == '>' || c == ']') && --depth == 0) return "";
      ++offset;
    }
  }
  return "";
}

}  // namespace

void NameStagesOfSyntaxErrors(const std::string& text, std::vector<Diagnostic>& errors) {
  // The parse failed, so the name is read from the text.
  const SourceText source(text);
  const auto statements = TopLevelStatements(text);
  std::vector<std::optional<std::string>> names(statements.size());  // found so far
  for (Diagnostic& error : errors) {
    if (!error.stage.empty() || error.line < 1) continue;
    const size_t offset = source.offset_of({error.line, error.column});
    // The statement holding the error: the last one starting at or before it (a binary search,
    // as a file may hold a million statements, each with an error). An error at the very end of
    // the text belongs to the last statement.
    auto holder = std::upper_bound(statements.begin(), statements.end(), offset,
                                   [](size_t value, const std::pair<size_t, size_t>& statement) {
                                     return value < statement.first;
                                   });
    if (holder == statements.begin()) continue;
    const size_t index = static_cast<size_t>(std::prev(holder) - statements.begin());
    const auto [begin, end] = statements[index];
    if (offset >= end && end != text.size()) continue;
    // Each statement is searched once: one block may hold thousands of unknown fields.
    if (!names[index].has_value()) {
      names[index] = StageNameOf(std::string_view(text).substr(begin, end - begin));
    }
    if (!names[index]->empty()) error.stage = *names[index];
  }
}

namespace {

const gp::FieldDescriptor* StageField(const char* name) {
  return proto::StageSpec::descriptor()->FindFieldByName(name);
}

// Where the value of a singular field starts, or unknown when the field was not written.
SourcePosition SingularValue(const SourceText& source, const gp::TextFormat::ParseInfoTree& tree,
                             const gp::FieldDescriptor* field) {
  const auto location = tree.GetLocation(field, -1);
  if (location.line < 0) return {};
  const auto values = source.ValuesOfField(source.FromProtobuf(location));
  return values.empty() ? source.FromProtobuf(location) : values.front();
}

// Where each of `count` values of a repeated scalar field starts. Protobuf records one location
// per `field:` occurrence, and one for a whole `field: [a, b]` list, so the occurrences are
// expanded into their elements; when that does not add up, every value gets `fallback`.
std::vector<SourcePosition> RepeatedValues(const SourceText& source,
                                           const gp::TextFormat::ParseInfoTree& tree,
                                           const gp::FieldDescriptor* field, int count,
                                           SourcePosition fallback) {
  std::vector<SourcePosition> values;
  for (int occurrence = 0;; ++occurrence) {
    const auto location = tree.GetLocation(field, occurrence);
    if (location.line < 0) break;
    for (const auto& value : source.ValuesOfField(source.FromProtobuf(location))) {
      values.push_back(value);
    }
  }
  if (values.size() != static_cast<size_t>(count)) values.assign(count, fallback);
  return values;
}

}  // namespace

StageLocations LocateStage(const SourceText& source,
                           const gp::TextFormat::ParseInfoTree& stage_tree,
                           const proto::StageSpec& spec, SourcePosition block) {
  StageLocations where;
  where.block = block;
  where.name = SingularValue(source, stage_tree, StageField("name"));
  where.plugin = SingularValue(source, stage_tree, StageField("plugin"));
  if (where.block.line == 0) where.block = where.name.line > 0 ? where.name : where.plugin;
  where.inputs =
      RepeatedValues(source, stage_tree, StageField("input"), spec.input_size(), where.block);

  const gp::FieldDescriptor* param_field = StageField("param");
  const gp::FieldDescriptor* key_field = proto::Param::descriptor()->FindFieldByName("key");
  const gp::FieldDescriptor* value_field = proto::Param::descriptor()->FindFieldByName("value");
  // Param blocks are located by field name only when written one per `param` (not as a list).
  const int count = spec.param_size();
  const bool blocks_aligned = count > 0 &&
                              stage_tree.GetLocation(param_field, count - 1).line >= 0 &&
                              stage_tree.GetLocation(param_field, count).line < 0;
  for (int i = 0; i < spec.param_size(); ++i) {
    StageLocations::ParamPlace place;
    const SourcePosition param_block =
        blocks_aligned ? source.FromProtobuf(stage_tree.GetLocation(param_field, i)) : where.block;
    if (const auto* param_tree = stage_tree.GetTreeForNested(param_field, i)) {
      place.key = SingularValue(source, *param_tree, key_field);
      place.value = SingularValue(source, *param_tree, value_field);
    }
    if (place.key.line == 0) place.key = param_block;
    if (place.value.line == 0) place.value = place.key;
    where.params.push_back(place);
  }
  return where;
}

}  // namespace pipeline::graph_detail
