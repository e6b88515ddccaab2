// Parameter schema a stage declares, and the typed values it receives at open().
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pipeline {

enum class ParamType { kInt, kFloat, kBool, kString, kChoice };

// What a string parameter names on disk. Validation checks that what a stage will read is there
// and readable, so `pipeline validate` catches a mistyped data path before a run starts (and
// fails minutes in).
enum class ParamPath {
  kNone,
  // One file the stage reads. Empty means "none"; a URL (with "://") is not checked.
  kInputFile,
  // Comma-separated files, folders and @lists the stage reads (image_source's `path`); a glob
  // item (* ? [) is matched only when the stage opens.
  kInputPaths,
};

std::string_view to_string(ParamType type);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  // Used when the graph does not set the parameter; ignored when `required`.
  std::string default_value;
  bool required = false;
  // Inclusive bounds for kInt and kFloat.
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  // Allowed values for kChoice; for kInt and kFloat, words accepted besides a number (e.g.
  // "auto", which the stage resolves itself).
  std::vector<std::string> choices;
  std::string doc;
  ParamPath path = ParamPath::kNone;
  // Values of a kInputFile parameter that name something built in, not a file ("seed").
  std::vector<std::string> builtin_values;
};

// Builders that keep stage declarations one line per parameter.
ParamSpec IntParam(std::string name, int64_t default_value, double min, double max,
                   std::string doc);
ParamSpec FloatParam(std::string name, double default_value, double min, double max,
                     std::string doc);
// A number in [min, max] or the word `keyword` (also its default), e.g.
// normalize's mean: a value, or "auto" to take it from the data.
ParamSpec FloatOrKeywordParam(std::string name, std::string keyword, double min, double max,
                              std::string doc);
ParamSpec BoolParam(std::string name, bool default_value, std::string doc);
ParamSpec StringParam(std::string name, std::string default_value, std::string doc);
ParamSpec RequiredStringParam(std::string name, std::string doc);
ParamSpec ChoiceParam(std::string name, std::string default_value, std::vector<std::string> choices,
                      std::string doc);

// Marks a string parameter as naming a file the stage reads, e.g.
// InputFile(RequiredStringParam("images", "...")); `builtin_values` are accepted without a file.
ParamSpec InputFile(ParamSpec spec, std::vector<std::string> builtin_values = {});
// Marks a string parameter as comma-separated input files and folders (see kInputPaths).
ParamSpec InputPaths(ParamSpec spec);

// Checks `text` against `spec`; returns an empty string when valid, else why not.
std::string CheckParamValue(const ParamSpec& spec, const std::string& text);

// For a parameter that names input files (spec.path): empty when each is there and readable,
// else why not ("data/x.gz: No such file or directory"). Touches the file system, so the graph
// loader calls it after the values themselves are valid; CheckParamValue does not.
std::string CheckInputPath(const ParamSpec& spec, const std::string& text);

// The values a stage gets: every declared parameter is present (set or defaulted) and valid,
// because the engine validated the graph before opening any stage.
class Params {
 public:
  Params() = default;
  explicit Params(std::map<std::string, std::string, std::less<>> values,
                  std::map<std::string, bool, std::less<>> explicitly_set = {});

  int64_t get_int(std::string_view name) const;
  double get_float(std::string_view name) const;
  bool get_bool(std::string_view name) const;
  const std::string& get_string(std::string_view name) const;
  // True when the graph or --set gave the value (rather than the default).
  bool is_set(std::string_view name) const;
  const std::map<std::string, std::string, std::less<>>& values() const { return values_; }

 private:
  const std::string& raw(std::string_view name) const;
  std::map<std::string, std::string, std::less<>> values_;
  std::map<std::string, bool, std::less<>> explicitly_set_;
};

}  // namespace pipeline
