// The checks on the stages themselves: names, plugins, and the graph having both ends.
#include <cctype>
#include <string>

#include "pipeline/engine/graph_check.h"
#include "pipeline/engine/spelling.h"

namespace pipeline::graph_detail {
namespace {

// Names appear in `input: "stage.port"`, `port=stage` and `--set stage.param=value`, so they may
// not contain the characters those split on.
bool IsUsableName(const std::string& name) {
  for (const char c : name) {
    if (c == '.' || c == '=' || std::isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string SearchedFolders(const std::vector<std::string>& dirs) {
  if (dirs.empty()) return "no plugin folders were searched";
  std::string text = "searched: ";
  for (size_t i = 0; i < dirs.size(); ++i) text += (i > 0 ? ", " : "") + dirs[i];
  return text;
}

}  // namespace

void GraphCheck::error(int stage, SourcePosition at, std::string message) {
  const std::string stage_name = stage >= 0 ? spec.stage(stage).name() : "";
  errors.push_back({file, at.line, at.column, stage_name, std::move(message)});
}

void GraphCheck::override_error(const std::string& stage, std::string message) {
  errors.push_back({"--set", 0, 0, stage, std::move(message)});
}

std::vector<std::string> GraphCheck::stage_names() const {
  std::vector<std::string> names;
  for (const auto& [name, index] : index_by_name) names.push_back(name);
  return names;
}

void CheckNamesAndPlugins(GraphCheck& check) {
  check.entries.assign(check.spec.stage_size(), nullptr);
  std::vector<std::string> registered;
  for (const Registry::Entry* entry : check.registry.all()) registered.push_back(entry->info.name);

  for (int i = 0; i < check.spec.stage_size(); ++i) {
    const proto::StageSpec& stage = check.spec.stage(i);
    const StageLocations& where = check.where[i];
    const SourcePosition name_at = where.name.line > 0 ? where.name : where.block;
    if (stage.name().empty()) {
      check.error(i, name_at, "a stage needs a name (name: \"...\")");
    } else if (!IsUsableName(stage.name())) {
      check.error(i, name_at,
                  "stage name \"" + stage.name() + "\" may not contain '.', '=' or spaces");
    } else if (const auto [first, inserted] = check.index_by_name.emplace(stage.name(), i);
               !inserted) {
      const int first_line = check.where[first->second].block.line;
      check.error(
          i, name_at,
          "duplicate stage name \"" + stage.name() + "\"" +
              (first_line > 0 ? " (first used on line " + std::to_string(first_line) + ")" : ""));
    }

    if (stage.plugin().empty()) {
      check.error(i, where.plugin.line > 0 ? where.plugin : where.block,
                  "the stage names no plugin (plugin: \"...\"; `pipeline plugins` lists them)");
      continue;
    }
    check.entries[i] = check.registry.find(stage.plugin());
    if (check.entries[i] == nullptr) {
      check.error(i, where.plugin,
                  "unknown plugin \"" + stage.plugin() + "\"" +
                      DidYouMean(stage.plugin(), registered) + "; " +
                      SearchedFolders(check.options.plugin_dirs));
    }
  }
}

void CheckSourcesAndSinks(GraphCheck& check) {
  if (check.spec.stage_size() == 0) {
    check.error(-1, {}, "the graph has no stages");
    return;
  }
  bool has_source = false, has_sink = false;
  for (const Registry::Entry* entry : check.entries) {
    // A stage whose plugin is unknown might be the missing end; that error is reported already.
    if (entry == nullptr) return;
    has_source = has_source || entry->info.kind == StageKind::kSource;
    has_sink = has_sink || entry->info.kind == StageKind::kSink;
  }
  if (!has_source) {
    check.error(-1, {}, "the graph has no source stage; every graph needs at least one");
  }
  if (!has_sink) check.error(-1, {}, "the graph has no sink stage; every graph needs at least one");
}

}  // namespace pipeline::graph_detail
