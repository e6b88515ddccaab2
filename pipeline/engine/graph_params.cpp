// Parameters: one stage's against its schema (ResolveStageParams), every stage's in a graph, and
// the --set overrides that change them.
#include <map>
#include <string>

#include "pipeline/engine/graph_check.h"
#include "pipeline/engine/graph_text.h"
#include "pipeline/engine/graph_validate.h"
#include "pipeline/engine/spelling.h"
#include "pipeline/utf8.h"

namespace pipeline {
namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

std::string UnknownParamMessage(const std::string& key, const StageInfo& info) {
  std::vector<std::string> known;
  for (const auto& param : info.params) known.push_back(param.name);
  std::string text = "plugin \"" + info.name + "\" has no parameter \"" + key + "\"";
  const std::string suggestion = DidYouMean(key, known);
  if (!suggestion.empty()) return text + suggestion;
  if (known.empty()) return text + " (it takes no parameters)";
  return text + " (its parameters: " + JoinNames(known) + ")";
}

// Reports problems about parameter `index` of one stage at the right place: in the file, or in
// the --set override that supplied it.
class ParamReporter {
 public:
  ParamReporter(const std::string& stage, const std::string& file, const StageLocations& where,
                std::vector<Diagnostic>& errors)
      : stage_(stage), file_(file), where_(where), errors_(errors) {}

  // `about_value`: the problem is the value (else the key, or the entry as a whole).
  void report(size_t index, bool about_value, std::string message) {
    Diagnostic diagnostic{file_, 0, 0, stage_, std::move(message)};
    if (index < where_.params.size()) {
      const auto& place = where_.params[index];
      const bool from_override =
          !place.override_text.empty() && (about_value || place.key.line == 0);
      if (from_override) {
        diagnostic.file = "--set";
        diagnostic.message += " (from --set " + place.override_text + ")";
      } else {
        const SourcePosition& at = about_value ? place.value : place.key;
        diagnostic.line = at.line;
        diagnostic.column = at.column;
      }
    }
    errors_.push_back(std::move(diagnostic));
  }

  void report_at_block(std::string message) {
    errors_.push_back({file_, where_.block.line, where_.block.column, stage_, std::move(message)});
  }

  int key_line(size_t index) const {
    return index < where_.params.size() ? where_.params[index].key.line : 0;
  }

 private:
  const std::string& stage_;
  const std::string& file_;
  const StageLocations& where_;
  std::vector<Diagnostic>& errors_;
};

// The files the stage will read (params declared InputFile / InputPaths) must be there: a run
// would otherwise fail only when the stage opens, after the rest of the graph started.
void CheckInputFiles(const proto::StageSpec& spec, const StageInfo& info, const Params& params,
                     ParamReporter& reporter) {
  for (const ParamSpec& declared : info.params) {
    if (declared.path == ParamPath::kNone) continue;
    const std::string problem = CheckInputPath(declared, params.get_string(declared.name));
    if (problem.empty()) continue;
    const std::string message = "parameter \"" + declared.name + "\": " + problem;
    bool reported = false;
    for (size_t i = 0; i < static_cast<size_t>(spec.param_size()) && !reported; ++i) {
      if (spec.param(static_cast<int>(i)).key() != declared.name) continue;
      reporter.report(i, true, message);
      reported = true;
    }
    if (!reported) reporter.report_at_block(message + " (the default)");
  }
}

}  // namespace

std::vector<Diagnostic> ParseStageSpecText(const std::string& text, const std::string& file,
                                           proto::StageSpec& spec, StageLocations& where) {
  google::protobuf::TextFormat::ParseInfoTree tree;
  std::vector<Diagnostic> errors = graph_detail::ParseTextProto(text, file, spec, tree);
  if (errors.empty()) {
    where = graph_detail::LocateStage(graph_detail::SourceText(text), tree, spec, {1, 1});
  }
  return errors;
}

Params ResolveStageParams(const proto::StageSpec& spec, const StageInfo& info,
                          const std::string& stage_name, const std::string& file,
                          const StageLocations& where, std::vector<Diagnostic>& errors) {
  ParamReporter reporter(stage_name, file, where, errors);
  std::map<std::string, std::string, std::less<>> values;
  std::map<std::string, bool, std::less<>> explicitly_set;
  std::map<std::string, size_t> first_seen;

  for (size_t i = 0; i < static_cast<size_t>(spec.param_size()); ++i) {
    const proto::Param& param = spec.param(static_cast<int>(i));
    if (param.key().empty()) {
      reporter.report(i, false, "a param has no key (param { key: \"...\" value: \"...\" })");
      continue;
    }
    const ParamSpec* declared = info.find_param(param.key());
    if (declared == nullptr) {
      reporter.report(i, false, UnknownParamMessage(param.key(), info));
      continue;
    }
    const auto [first, inserted] = first_seen.emplace(param.key(), i);
    if (!inserted) {
      const int first_line = reporter.key_line(first->second);
      reporter.report(
          i, false,
          "parameter \"" + param.key() + "\" is given twice" +
              (first_line > 0 ? " (first on line " + std::to_string(first_line) + ")" : ""));
      continue;
    }
    const std::string problem = CheckParamValue(*declared, param.value());
    if (!problem.empty()) reporter.report(i, true, "parameter \"" + param.key() + "\": " + problem);
    values[param.key()] = param.value();
    explicitly_set[param.key()] = true;
  }

  for (const ParamSpec& declared : info.params) {
    if (values.count(declared.name) != 0) continue;
    if (declared.required) {
      reporter.report_at_block("missing required parameter \"" + declared.name + "\"" +
                               (declared.doc.empty() ? "" : " (" + declared.doc + ")"));
      continue;
    }
    values[declared.name] = declared.default_value;
    explicitly_set[declared.name] = false;
  }
  return Params(std::move(values), std::move(explicitly_set));
}

namespace graph_detail {

std::vector<Params> ResolveAllParams(GraphCheck& check) {
  std::vector<Params> params(check.entries.size());
  for (size_t i = 0; i < check.entries.size(); ++i) {
    if (check.entries[i] == nullptr) continue;
    const proto::StageSpec& stage = check.spec.stage(static_cast<int>(i));
    const size_t errors_before = check.errors.size();
    params[i] = ResolveStageParams(stage, check.entries[i]->info, stage.name(), check.file,
                                   check.where[i], check.errors);
    if (check.errors.size() == errors_before) {
      ParamReporter reporter(stage.name(), check.file, check.where[i], check.errors);
      CheckInputFiles(stage, check.entries[i]->info, params[i], reporter);
    }
  }
  return params;
}

void ApplyOverrides(GraphCheck& check) {
  for (const std::string& text : check.options.overrides) {
    // The values end up in protobuf string fields (the graph saved in a checkpoint).
    if (const size_t bad = FirstInvalidUtf8(text); bad != std::string::npos) {
      check.override_error("", "override \"" + ReplaceInvalidUtf8(text) +
                                   "\" is not UTF-8 text (byte " + std::to_string(bad + 1) +
                                   " is not)");
      continue;
    }
    const size_t equals = text.find('=');
    const size_t dot = text.find('.');
    if (equals == std::string::npos || dot == std::string::npos || dot > equals || dot == 0 ||
        dot + 1 == equals) {
      check.override_error("", "malformed override \"" + text + "\" (expected STAGE.PARAM=VALUE)");
      continue;
    }
    const std::string stage_name = text.substr(0, dot);
    const std::string key = text.substr(dot + 1, equals - dot - 1);
    const std::string value = text.substr(equals + 1);

    const auto found = check.index_by_name.find(stage_name);
    if (found == check.index_by_name.end()) {
      check.override_error("", "override \"" + text + "\": no stage is named \"" + stage_name +
                                   "\"" + DidYouMean(stage_name, check.stage_names()));
      continue;
    }
    const int index = found->second;
    const Registry::Entry* entry = check.entries[index];
    // With an unknown plugin the parameter cannot be checked; that plugin is reported already.
    if (entry != nullptr && entry->info.find_param(key) == nullptr) {
      check.override_error(stage_name,
                           "override \"" + text + "\": " + UnknownParamMessage(key, entry->info));
      continue;
    }

    proto::StageSpec& stage = *check.spec.mutable_stage(index);
    StageLocations& where = check.where[index];
    bool replaced = false;
    for (int i = 0; i < stage.param_size(); ++i) {
      if (stage.param(i).key() != key) continue;
      stage.mutable_param(i)->set_value(value);
      where.params[i].override_text = text;
      replaced = true;
    }
    if (!replaced) {
      proto::Param* added = stage.add_param();
      added->set_key(key);
      added->set_value(value);
      where.params.push_back({{}, {}, text});
    }
  }
}

}  // namespace graph_detail
}  // namespace pipeline
