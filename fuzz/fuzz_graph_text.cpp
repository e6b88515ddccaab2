// The graph loader on arbitrary text: parsing, every validation phase, the ordering. It must
// return errors or a graph, never crash, hang or overflow the stack.
#include <cstddef>
#include <cstdint>
#include <string>

#include "pipeline/engine/graph.h"
#include "pipeline/registry.h"

namespace {

pipeline::StageInfo Info(const char* name, pipeline::StageKind kind,
                         std::vector<pipeline::PortSpec> inputs,
                         std::vector<pipeline::PortSpec> outputs) {
  pipeline::StageInfo info;
  info.name = name;
  info.kind = kind;
  info.inputs = std::move(inputs);
  info.outputs = std::move(outputs);
  info.params = {pipeline::IntParam("count", 3, 0, 1000, "a number"),
                 pipeline::StringParam("path", "", "a text")};
  info.create = [] { return std::unique_ptr<pipeline::Stage>(); };
  return info;
}

// A source, a transform with two inputs and a sink: enough for wiring, cycles and types.
const pipeline::Registry& FuzzRegistry() {
  static const pipeline::Registry registry = [] {
    pipeline::Registry r;
    r.add(Info("numbers", pipeline::StageKind::kSource, {}, {{"out", "number", ""}}));
    r.add(Info("pair", pipeline::StageKind::kTransform,
               {{"left", "number", ""}, {"right", "number", ""}}, {{"out", "number", ""}}));
    r.add(Info("collect", pipeline::StageKind::kSink, {{"in", "number", ""}}, {}));
    return r;
  }();
  return registry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  pipeline::LoadOptions options;
  options.overrides = {"a.count=7"};
  const pipeline::LoadResult result =
      pipeline::LoadGraphText(text, "fuzz.graph", FuzzRegistry(), options);
  for (const auto& error : result.errors) (void)error.format();
  return 0;
}
