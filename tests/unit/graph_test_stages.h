// Small fake stage types for the graph-loading and stage-harness tests, independent of the
// standard stages: a number source, transforms with one and two inputs, a batcher and sinks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pipeline/engine/diagnostic.h"
#include "pipeline/engine/graph.h"
#include "pipeline/payload.h"
#include "pipeline/registry.h"
#include "pipeline/stage.h"

namespace pipeline::graph_test {

struct Number : Payload {
  static constexpr std::string_view kType = "number";
  std::string_view type() const override { return kType; }
  explicit Number(double v) : value(v) {}
  double value = 0;
};

struct NumberBatch : Payload {
  static constexpr std::string_view kType = "number_batch";
  std::string_view type() const override { return kType; }
  std::vector<double> values;
};

// Emits 0, 1, ..., count-1 as numbers, `epochs` times, ending each epoch.
class CountingSource : public Stage {
 public:
  void open(const Params& params) override {
    count_ = params.get_int("count");
    epochs_ = params.get_int("epochs");
  }
  bool produce(Emitter& out) override {
    if (epoch_ >= epochs_) return false;
    if (env().stop_requested != nullptr && *env().stop_requested) return false;
    if (next_ < count_) {
      out.emit(std::make_shared<Number>(static_cast<double>(next_)), epoch_, next_);
      ++next_;
      return true;
    }
    out.end_epoch(epoch_);
    ++epoch_;
    next_ = 0;
    return epoch_ < epochs_;
  }

 private:
  int64_t count_ = 0, epochs_ = 0, epoch_ = 0, next_ = 0;
};

// value * factor (mode multiply) or value + factor (mode add).
class ScaleStage : public Stage {
 public:
  void open(const Params& params) override {
    factor_ = params.get_float("factor");
    add_ = params.get_string("mode") == "add";
  }
  void process(const Message& msg, Emitter& out) override {
    const double value = msg.as<Number>().value;
    out.emit_like(msg, std::make_shared<Number>(add_ ? value + factor_ : value * factor_));
  }

 private:
  double factor_ = 1;
  bool add_ = false;
};

// Gathers `size` numbers per batch; flushes a partial batch at the end of each epoch and at close.
class BatchingStage : public Stage {
 public:
  void open(const Params& params) override { size_ = params.get_int("size"); }
  void process(const Message& msg, Emitter& out) override {
    if (pending_ == nullptr) {
      pending_ = std::make_shared<NumberBatch>();
      first_index_ = msg.index;
      epoch_ = msg.epoch;
    }
    pending_->values.push_back(msg.as<Number>().value);
    if (static_cast<int64_t>(pending_->values.size()) == size_) flush(out);
  }
  void end_epoch(int, int64_t, Emitter& out) override { flush(out); }
  void close(Emitter& out) override { flush(out); }
  int held_inputs() const override { return static_cast<int>(size_); }

 private:
  void flush(Emitter& out) {
    if (pending_ == nullptr) return;
    out.emit(std::move(pending_), epoch_, first_index_);
    pending_ = nullptr;
  }
  int64_t size_ = 1, first_index_ = 0, epoch_ = 0;
  std::shared_ptr<NumberBatch> pending_;
};

// Stages whose behaviour the graph tests do not need.
class InertStage : public Stage {};

// Emits the wrong payload type, for the harness's output check.
class LyingStage : public Stage {
 public:
  void process(const Message& msg, Emitter& out) override {
    auto batch = std::make_shared<NumberBatch>();
    out.emit_like(msg, std::move(batch));
  }
};

inline StageInfo Info(std::string name, StageKind kind, std::vector<PortSpec> inputs,
                      std::vector<PortSpec> outputs, std::vector<ParamSpec> params,
                      std::function<std::unique_ptr<Stage>()> create) {
  StageInfo info;
  info.name = std::move(name);
  info.kind = kind;
  info.inputs = std::move(inputs);
  info.outputs = std::move(outputs);
  info.params = std::move(params);
  info.create = std::move(create);
  info.doc = "a fake stage for tests";
  return info;
}

template <typename T>
std::function<std::unique_ptr<Stage>()> Make() {
  return [] { return std::make_unique<T>(); };
}

// numbers   (source)    -> out:number                 params count, epochs
// letters   (source)    -> out:letter
// scale     (transform) in:number -> out:number       params factor, mode
// pair      (transform) left:number, right:number -> sum:number, diff:number
// batcher   (transform) in:number -> out:number_batch params size
// collect   (sink)      in:any
// print     (sink)      in:number                     params path (required), append
// liar      (transform) in:number -> out:number, emits number_batch
// tap       (sink)      main:number, extra:number (optional)
inline Registry TestRegistry() {
  Registry registry;
  registry.add(Info("numbers", StageKind::kSource, {}, {{"out", "number", ""}},
                    {IntParam("count", 3, 0, 1000, "how many numbers per epoch"),
                     IntParam("epochs", 1, 1, 100, "how many epochs")},
                    Make<CountingSource>()));
  registry.add(
      Info("letters", StageKind::kSource, {}, {{"out", "letter", ""}}, {}, Make<InertStage>()));
  StageInfo scale =
      Info("scale", StageKind::kTransform, {{"in", "number", ""}}, {{"out", "number", ""}},
           {FloatParam("factor", 2, -100, 100, "the scale factor"),
            ChoiceParam("mode", "multiply", {"multiply", "add"}, "what to do")},
           Make<ScaleStage>());
  scale.concurrency = Concurrency::kParallel;
  registry.add(std::move(scale));
  registry.add(Info("pair", StageKind::kTransform,
                    {{"left", "number", ""}, {"right", "number", ""}},
                    {{"sum", "number", ""}, {"diff", "number", ""}}, {}, Make<InertStage>()));
  registry.add(Info("batcher", StageKind::kTransform, {{"in", "number", ""}},
                    {{"out", "number_batch", ""}},
                    {IntParam("size", 2, 1, 100, "numbers per batch")}, Make<BatchingStage>()));
  registry.add(
      Info("collect", StageKind::kSink, {{"in", kAnyType, ""}}, {}, {}, Make<InertStage>()));
  registry.add(Info("print", StageKind::kSink, {{"in", "number", ""}}, {},
                    {RequiredStringParam("path", "where to print"),
                     BoolParam("append", false, "append to the file")},
                    Make<InertStage>()));
  registry.add(Info("liar", StageKind::kTransform, {{"in", "number", ""}}, {{"out", "number", ""}},
                    {}, Make<LyingStage>()));
  StageInfo tap = Info("tap", StageKind::kSink, {{"main", "number", ""}, {"extra", "number", ""}},
                       {}, {}, Make<InertStage>());
  tap.inputs[1].optional = true;
  registry.add(std::move(tap));
  return registry;
}

// Joins lines with '\n', so that a test's line numbers are the vector's indices plus one.
inline std::string Lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

inline LoadResult Load(const std::string& text, const LoadOptions& options = {}) {
  static const Registry registry = TestRegistry();
  return LoadGraphText(text, "test.graph", registry, options);
}

// "line:column: stage: message" for each error, for readable failure output.
inline std::string Describe(const std::vector<Diagnostic>& errors) { return FormatAll(errors); }

}  // namespace pipeline::graph_test
