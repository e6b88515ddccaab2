// The flow-graph runner on fake stages: order, back-pressure, failures, stopping, fan-in.
#include "pipeline/engine/runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace pipeline {
namespace {

// Counts live payloads so tests can see how many messages exist at once.
std::atomic<int> g_alive{0};
std::atomic<int> g_peak_alive{0};

struct Number : Payload {
  static constexpr std::string_view kType = "number";
  std::string_view type() const override { return kType; }
  explicit Number(int64_t v) : value(v) {
    const int now = ++g_alive;
    int peak = g_peak_alive.load();
    while (now > peak && !g_peak_alive.compare_exchange_weak(peak, now)) {
    }
  }
  ~Number() override { --g_alive; }
  int64_t value;
};

// Emits `count` numbers per epoch for `epochs` epochs; count < 0 means until stopped.
class CountingSource : public Stage {
 public:
  void open(const Params& params) override {
    count_ = params.get_int("count");
    epochs_ = params.get_int("epochs");
  }
  bool produce(Emitter& out) override {
    if (epoch_ >= epochs_) return false;
    out.emit(std::make_shared<Number>(next_), epoch_, next_);
    if (++next_ == count_) {
      out.end_epoch(epoch_++);
      next_ = 0;
    }
    return true;
  }

 private:
  int64_t count_ = 0, epochs_ = 1, epoch_ = 0, next_ = 0;
};

// Parallel: sleeps a pseudo-random time (to scramble completion order), then adds a value
// drawn from the per-sample generator; throws at `fail_at`.
class JitterTransform : public Stage {
 public:
  void open(const Params& params) override { fail_at_ = params.get_int("fail_at"); }
  void process(const Message& msg, Emitter& out) override {
    const auto& number = msg.as<Number>();
    if (number.value == fail_at_) throw std::runtime_error("boom");
    auto rng = rng_for(msg.epoch, msg.index);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
    out.emit_like(msg, std::make_shared<Number>(number.value * 1000 + rng() % 1000));
  }

 private:
  int64_t fail_at_ = -1;
};

// Gathers `size` numbers into their sum, like a batcher.
class Gather : public Stage {
 public:
  void open(const Params& params) override { size_ = static_cast<int>(params.get_int("size")); }
  int held_inputs() const override { return size_; }
  void process(const Message& msg, Emitter& out) override {
    sum_ += msg.as<Number>().value;
    if (++held_ == size_) flush(msg.epoch, out);
  }
  void end_epoch(int, int64_t epoch, Emitter& out) override { flush(epoch, out); }

 private:
  void flush(int64_t epoch, Emitter& out) {
    if (held_ == 0) return;
    out.emit(std::make_shared<Number>(sum_), epoch, batches_++);
    held_ = 0;
    sum_ = 0;
  }
  int size_ = 1, held_ = 0;
  int64_t sum_ = 0, batches_ = 0;
};

// Serial: sleeps `delay_us` per number and passes it on; the deliberately slow stage.
class Sleepy : public Stage {
 public:
  void open(const Params& params) override { delay_us_ = params.get_int("delay_us"); }
  void process(const Message& msg, Emitter& out) override {
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us_));
    out.emit_like(msg, msg.payload);
  }

 private:
  int64_t delay_us_ = 0;
};

struct Record {
  std::string stage;
  int port;
  int64_t epoch, index, value;
  bool operator==(const Record&) const = default;
};

// Records what reaches it; optionally slow, to let the sources run ahead. Several instances in
// one graph run at once, so the shared record is guarded.
class RecordingSink : public Stage {
 public:
  static inline std::mutex mutex;
  static inline std::vector<Record> records;
  static inline std::vector<std::pair<int, int64_t>> epoch_ends;
  static inline int closes = 0;
  void open(const Params& params) override {
    delay_us_ = params.get_int("delay_us");
    finish_after_ = params.get_int("finish_after");
  }
  void process(const Message& msg, Emitter&) override {
    if (delay_us_ > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay_us_));
    {
      std::lock_guard lock(mutex);
      records.push_back({env().name, msg.port, msg.epoch, msg.index, msg.as<Number>().value});
    }
    // Early stopping: asks the sources feeding this stage to end their streams.
    if (msg.port == 0 && ++seen_on_first_ == finish_after_) request_finish();
  }
  void end_epoch(int port, int64_t epoch, Emitter&) override {
    std::lock_guard lock(mutex);
    epoch_ends.emplace_back(port, epoch);
  }
  void close(Emitter&) override {
    std::lock_guard lock(mutex);
    ++closes;
  }

 private:
  int64_t delay_us_ = 0;
  int64_t finish_after_ = -1;
  int64_t seen_on_first_ = 0;
};

StageInfo Info(std::string name, StageKind kind, Concurrency concurrency) {
  StageInfo info;
  info.name = std::move(name);
  info.kind = kind;
  info.concurrency = concurrency;
  info.doc = "test stage";
  return info;
}

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RecordingSink::records.clear();
    RecordingSink::epoch_ends.clear();
    RecordingSink::closes = 0;
    g_peak_alive = 0;
    StageInfo source = Info("counting_source", StageKind::kSource, Concurrency::kSerial);
    source.outputs = {{"out", "number", ""}};
    source.params = {IntParam("count", 10, -1, 1e9, ""), IntParam("epochs", 1, 1, 100, "")};
    source.create = [] { return std::make_unique<CountingSource>(); };
    registry_.add(source);
    StageInfo jitter = Info("jitter", StageKind::kTransform, Concurrency::kParallel);
    jitter.inputs = {{"in", "number", ""}};
    jitter.outputs = {{"out", "number", ""}};
    jitter.params = {IntParam("fail_at", -1, -1, 1e9, "")};
    jitter.create = [] { return std::make_unique<JitterTransform>(); };
    registry_.add(jitter);
    StageInfo gather = Info("gather", StageKind::kTransform, Concurrency::kSerial);
    gather.inputs = {{"in", "number", ""}};
    gather.outputs = {{"out", "number", ""}};
    gather.params = {IntParam("size", 4, 1, 1e6, "")};
    gather.create = [] { return std::make_unique<Gather>(); };
    registry_.add(gather);
    StageInfo sleepy = Info("sleepy", StageKind::kTransform, Concurrency::kSerial);
    sleepy.inputs = {{"in", "number", ""}};
    sleepy.outputs = {{"out", "number", ""}};
    sleepy.params = {IntParam("delay_us", 1000, 0, 1e6, "")};
    sleepy.create = [] { return std::make_unique<Sleepy>(); };
    registry_.add(sleepy);
    StageInfo sink = Info("recorder", StageKind::kSink, Concurrency::kSerial);
    sink.inputs = {{"a", "number", ""}, {"b", "any", ""}};
    sink.params = {IntParam("delay_us", 0, 0, 1e6, ""), IntParam("finish_after", -1, -1, 1e9, "")};
    sink.create = [] { return std::make_unique<RecordingSink>(); };
    registry_.add(sink);
    StageInfo single_sink = sink;
    single_sink.name = "single_recorder";
    single_sink.inputs = {{"in", "number", ""}};
    registry_.add(single_sink);
    StageInfo optional_sink = sink;
    optional_sink.name = "optional_recorder";
    optional_sink.inputs[1].optional = true;
    registry_.add(optional_sink);
  }

  // Adds a stage with its declared defaults overridden by `values`.
  int add(const std::string& name, const std::string& plugin,
          std::map<std::string, std::string, std::less<>> values = {}) {
    const Registry::Entry* entry = registry_.find(plugin);
    for (const auto& spec : entry->info.params) values.try_emplace(spec.name, spec.default_value);
    graph_.stages.push_back({name, entry, Params(values), 0});
    return static_cast<int>(graph_.stages.size()) - 1;
  }
  void connect(int from, int to, int to_port = 0) {
    graph_.edges.push_back({from, 0, to, to_port});
  }

  RunResult run(int threads, std::atomic<bool>* stop = nullptr, uint32_t in_flight = 0) {
    RunOptions options;
    options.threads = threads;
    options.stop_requested = stop;
    options.max_in_flight = in_flight;
    return RunGraph(graph_, options);
  }

  Registry registry_;
  ResolvedGraph graph_;
};

TEST_F(RunnerTest, ParallelStageOutputKeepsSourceOrderAndSameValuesForAnyThreadCount) {
  const int source = add("numbers", "counting_source", {{"count", "200"}, {"epochs", "2"}});
  const int jitter = add("jitter", "jitter");
  const int sink = add("sink", "single_recorder");
  connect(source, jitter);
  connect(jitter, sink);
  graph_.seed = 7;

  ASSERT_TRUE(run(2).ok);
  const auto two_threads = RecordingSink::records;
  ASSERT_EQ(two_threads.size(), 400u);
  for (size_t i = 0; i < two_threads.size(); ++i) {
    EXPECT_EQ(two_threads[i].epoch, static_cast<int64_t>(i / 200));
    EXPECT_EQ(two_threads[i].index, static_cast<int64_t>(i % 200));
  }
  EXPECT_EQ(RecordingSink::epoch_ends, (std::vector<std::pair<int, int64_t>>{{0, 0}, {0, 1}}));
  EXPECT_EQ(RecordingSink::closes, 1);

  RecordingSink::records.clear();
  ASSERT_TRUE(run(1).ok);
  EXPECT_EQ(RecordingSink::records, two_threads);

  RecordingSink::records.clear();
  graph_.seed = 8;
  ASSERT_TRUE(run(2).ok);
  EXPECT_NE(RecordingSink::records, two_threads);
}

TEST_F(RunnerTest, InFlightMessagesAreBoundedBehindASlowSink) {
  const int source = add("numbers", "counting_source", {{"count", "300"}});
  const int jitter = add("jitter", "jitter");
  const int sink = add("sink", "single_recorder", {{"delay_us", "200"}});
  connect(source, jitter);
  connect(jitter, sink);
  ASSERT_TRUE(run(2, nullptr, 8).ok);
  EXPECT_EQ(RecordingSink::records.size(), 300u);
  // Each in-flight source message may exist as its input and its transformed copy.
  EXPECT_LE(g_peak_alive.load(), 2 * 8 + 2);
  EXPECT_EQ(g_alive.load(), 0);
}

TEST_F(RunnerTest, GatheringStageLargerThanTheInFlightBoundDoesNotDeadlock) {
  const int source = add("numbers", "counting_source", {{"count", "103"}, {"epochs", "2"}});
  const int gather = add("gather", "gather", {{"size", "50"}});
  const int sink = add("sink", "single_recorder");
  connect(source, gather);
  connect(gather, sink);
  ASSERT_TRUE(run(2, nullptr, 4).ok);
  // Per epoch: 50 + 50 + 3 numbers → three sums, the last flushed at the epoch end.
  ASSERT_EQ(RecordingSink::records.size(), 6u);
  EXPECT_EQ(RecordingSink::records[0].value, 49 * 50 / 2);
  EXPECT_EQ(RecordingSink::records[2].value, 100 + 101 + 102);
  EXPECT_EQ(RecordingSink::records[5].epoch, 1);
}

TEST_F(RunnerTest, StageFailureNamesStageEpochAndSampleAndSkipsClose) {
  const int source = add("numbers", "counting_source", {{"count", "50"}});
  const int jitter = add("augment", "jitter", {{"fail_at", "17"}});
  const int sink = add("sink", "single_recorder");
  connect(source, jitter);
  connect(jitter, sink);
  const RunResult result = run(2);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, "stage \"augment\" (jitter), epoch 1, sample 17: boom");
  EXPECT_EQ(RecordingSink::closes, 0);
  EXPECT_LE(RecordingSink::records.size(), 17u);
}

TEST_F(RunnerTest, StopRequestEndsSourcesAndStillClosesSinks) {
  const int source = add("numbers", "counting_source", {{"count", "1000000000"}});
  const int sink = add("sink", "single_recorder", {{"delay_us", "100"}});
  connect(source, sink);
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  const RunResult result = run(2, &stop);
  stopper.join();
  EXPECT_TRUE(result.ok);
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(RecordingSink::closes, 1);
  EXPECT_GT(RecordingSink::records.size(), 0u);
}

TEST_F(RunnerTest, MultiInputStageSeesBothStreamsInOrderAndClosesOnce) {
  const int first = add("first", "counting_source", {{"count", "30"}});
  const int second = add("second", "counting_source", {{"count", "20"}, {"epochs", "2"}});
  const int jitter = add("jitter", "jitter");
  const int sink = add("sink", "recorder");
  connect(first, jitter);
  connect(jitter, sink, 0);
  connect(second, sink, 1);
  ASSERT_TRUE(run(2).ok);
  std::vector<int64_t> port_a, port_b;
  for (const auto& record : RecordingSink::records) {
    (record.port == 0 ? port_a : port_b).push_back(record.index);
  }
  ASSERT_EQ(port_a.size(), 30u);
  ASSERT_EQ(port_b.size(), 40u);
  for (size_t i = 0; i < port_a.size(); ++i) EXPECT_EQ(port_a[i], static_cast<int64_t>(i));
  for (size_t i = 0; i < port_b.size(); ++i) EXPECT_EQ(port_b[i], static_cast<int64_t>(i % 20));
  EXPECT_EQ(RecordingSink::closes, 1);
}

TEST_F(RunnerTest, OpenFailureIsReportedWithTheStage) {
  const int source = add("numbers", "counting_source");
  const int sink = add("sink", "single_recorder");
  connect(source, sink);
  graph_.stages[1].params =
      Params(std::map<std::string, std::string,
                      std::less<>>{});  // "delay_us" missing: get_int throws in open()
  const RunResult result = run(1);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("stage \"sink\" (single_recorder), opening:"), std::string::npos);
}

TEST_F(RunnerTest, UnconnectedOptionalInputCountsAsEndedSoTheStageCloses) {
  const int source = add("numbers", "counting_source", {{"count", "5"}});
  const int sink = add("sink", "optional_recorder");
  connect(source, sink, 0);
  ASSERT_TRUE(run(2).ok);
  EXPECT_EQ(RecordingSink::records.size(), 5u);
  EXPECT_EQ(RecordingSink::closes, 1);
}

TEST_F(RunnerTest, RequestFinishEndsOnlyTheSourcesUpstreamAndTheRunSucceeds) {
  const int endless = add("endless", "counting_source", {{"count", "1000000000"}});
  const int early_stopper = add("early_stopper", "single_recorder", {{"finish_after", "20"}});
  const int other = add("other", "counting_source", {{"count", "500"}});
  const int other_sink = add("other_sink", "single_recorder", {{"delay_us", "100"}});
  connect(endless, early_stopper);
  connect(other, other_sink);
  const RunResult result = run(2, nullptr, 4);
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_FALSE(result.stopped);
  int64_t stopped_stream = 0, other_stream = 0;
  for (const auto& record : RecordingSink::records) {
    ++(record.stage == "early_stopper" ? stopped_stream : other_stream);
  }
  // The endless source ended soon after the request (at most the in-flight bound later)...
  EXPECT_GE(stopped_stream, 20);
  EXPECT_LE(stopped_stream, 20 + 4 + 2);
  // ...while the source that does not feed the requesting stage went on to its end.
  EXPECT_EQ(other_stream, 500);
  EXPECT_EQ(RecordingSink::closes, 2);
}

TEST_F(RunnerTest, ProfileNamesTheSlowStageAsBottleneckAndShowsWhoWaitsOnIt) {
  // No parallel stage: its sleeps would keep the second worker thread busy, and the source
  // would wait for a thread (not counted as blocked) instead of for the in-flight bound.
  const int source = add("numbers", "counting_source", {{"count", "150"}});
  const int slow = add("slow", "sleepy", {{"delay_us", "2000"}});
  const int sink = add("sink", "single_recorder");
  connect(source, slow);
  connect(slow, sink);
  const RunResult result = run(2, nullptr, 4);
  ASSERT_TRUE(result.ok) << result.error;
  ASSERT_EQ(result.profile.size(), 3u);
  EXPECT_EQ(result.threads, 2);
  EXPECT_GE(result.flow_seconds, 150 * 0.002);
  EXPECT_LE(result.flow_seconds, result.wall_seconds);
  SCOPED_TRACE(FormatProfile(result));
  const StageProfile& numbers = result.profile[source];
  const StageProfile& slow_stage = result.profile[slow];
  const StageProfile& last = result.profile[sink];
  ASSERT_EQ(BottleneckStage(result), slow);
  EXPECT_GT(Utilization(slow_stage, result), 0.8);
  EXPECT_EQ(slow_stage.messages_in, 150);
  EXPECT_EQ(slow_stage.messages_out, 150);
  // Upstream: the source spends most of the run blocked behind the in-flight bound...
  EXPECT_TRUE(numbers.source);
  EXPECT_GT(numbers.output_wait_seconds, 0.5 * result.flow_seconds);
  EXPECT_EQ(numbers.input_wait_seconds, 0);
  // ...the slow stage is never starved for long, while the sink after it mostly is.
  EXPECT_LT(slow_stage.input_wait_seconds, 0.2 * result.flow_seconds);
  EXPECT_GT(last.input_wait_seconds, 0.5 * result.flow_seconds);
  EXPECT_EQ(last.output_wait_seconds, 0);

  const std::string report = FormatProfile(result);
  EXPECT_NE(report.find("bottleneck: \"slow\" (sleepy), busy "), std::string::npos) << report;
  EXPECT_NE(report.find("sources held back by back-pressure: numbers"), std::string::npos)
      << report;
  for (const char* column : {"busy s", "in-wait s", "out-wait s", "msgs in", "msgs/s"}) {
    EXPECT_NE(report.find(column), std::string::npos) << column << "\n" << report;
  }
}

TEST_F(RunnerTest, ProfileOfAnIdleRunNamesNoBottleneck) {
  RunResult empty;
  EXPECT_EQ(BottleneckStage(empty), -1);
  EXPECT_NE(FormatProfile(empty).find("bottleneck: none"), std::string::npos);
}

}  // namespace
}  // namespace pipeline
