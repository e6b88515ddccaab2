// The stage test harness: builds stages from snippets, drives them, and catches stages that break
// their declarations.
#include "pipeline/testing/stage_harness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "graph_test_stages.h"

namespace pipeline::graph_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Calls Emitter::end_epoch although it is a transform, and remembers its environment.
class EpochEndingTransform : public Stage {
 public:
  void open(const Params&) override {
    seen_name = env().name;
    seen_seed = env().graph_seed;
  }
  void process(const Message& msg, Emitter& out) override {
    out.emit_like(msg, msg.payload);
    out.end_epoch(msg.epoch);
  }
  std::string seen_name;
  uint64_t seen_seed = 0;
};

// Emits on an output port it does not declare.
class WrongPortTransform : public Stage {
 public:
  void process(const Message& msg, Emitter& out) override { out.emit_like(msg, msg.payload, 1); }
};

Registry HarnessRegistry() {
  Registry registry = TestRegistry();
  registry.add(Info("epoch_ender", StageKind::kTransform, {{"in", "number", ""}},
                    {{"out", "number", ""}}, {}, Make<EpochEndingTransform>()));
  registry.add(Info("wrong_port", StageKind::kTransform, {{"in", "number", ""}},
                    {{"out", "number", ""}}, {}, Make<WrongPortTransform>()));
  return registry;
}

std::shared_ptr<const Number> N(double value) { return std::make_shared<Number>(value); }

std::vector<double> Values(const std::vector<std::shared_ptr<const Number>>& numbers) {
  std::vector<double> values;
  for (const auto& number : numbers) values.push_back(number->value);
  return values;
}

TEST(StageHarness, DrivesATransformAndRecordsPositions) {
  const Registry registry = HarnessRegistry();
  StageHarness harness(registry, R"(plugin: "scale" param { key: "factor" value: "3" })");
  EXPECT_EQ(harness.name(), "scale");  // defaults to the plugin name
  EXPECT_DOUBLE_EQ(harness.params().get_float("factor"), 3.0);
  EXPECT_EQ(harness.params().get_string("mode"), "multiply");  // defaulted

  harness.push(0, 2, 5, N(2));
  harness.push(harness.input_port("in"), 2, 6, N(-1));
  ASSERT_EQ(harness.outputs().size(), 2u);
  const HarnessOutput& first = harness.outputs()[0];
  EXPECT_EQ(first.kind, HarnessOutput::Kind::kData);
  EXPECT_EQ(first.port, 0);
  EXPECT_EQ(first.epoch, 2);
  EXPECT_EQ(first.index, 5);
  EXPECT_THAT(Values(harness.outputs_of_type<Number>()), ElementsAre(6.0, -3.0));
  EXPECT_TRUE(harness.outputs_of_type<NumberBatch>().empty());
}

TEST(StageHarness, GivesTheStageItsNameAndSeed) {
  const Registry registry = HarnessRegistry();
  StageHarness harness(registry, R"(name: "ender" plugin: "epoch_ender")", 1234);
  auto& stage = dynamic_cast<EpochEndingTransform&>(harness.stage());
  EXPECT_EQ(stage.seen_name, "ender");
  EXPECT_EQ(stage.seen_seed, 1234u);
  EXPECT_EQ(stage.env().plugin, "epoch_ender");
  EXPECT_NE(stage.env().stop_requested, nullptr);
}

TEST(StageHarness, EndOfEpochFromATransformIsNotRecorded) {
  const Registry registry = HarnessRegistry();
  StageHarness harness(registry, R"(plugin: "epoch_ender")");
  harness.push(0, 0, 0, N(1));
  ASSERT_EQ(harness.outputs().size(), 1u);
  EXPECT_EQ(harness.outputs()[0].kind, HarnessOutput::Kind::kData);
  EXPECT_TRUE(harness.ended_epochs().empty());
}

TEST(StageHarness, BatcherFlushesAtEpochEndAndClose) {
  const Registry registry = HarnessRegistry();
  StageHarness harness(registry, R"(plugin: "batcher" param { key: "size" value: "2" })");
  EXPECT_EQ(harness.stage().held_inputs(), 2);
  for (int i = 0; i < 3; ++i) harness.push(0, 0, i, N(i));
  ASSERT_EQ(harness.outputs_of_type<NumberBatch>().size(), 1u);  // 0,1; 2 is pending
  harness.end_epoch(0, 0);
  harness.push(0, 1, 0, N(10));
  harness.close();
  EXPECT_TRUE(harness.closed());

  const auto batches = harness.outputs_of_type<NumberBatch>(0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_THAT(batches[0]->values, ElementsAre(0.0, 1.0));
  EXPECT_THAT(batches[1]->values, ElementsAre(2.0));
  EXPECT_THAT(batches[2]->values, ElementsAre(10.0));
  EXPECT_EQ(harness.outputs()[1].index, 2);  // the partial batch starts at sample 2
  EXPECT_EQ(harness.outputs()[2].epoch, 1);
}

TEST(StageHarness, RunsASourceToTheEndWithEpochMarks) {
  const Registry registry = HarnessRegistry();
  StageHarness harness(registry, R"(
      name: "src"
      plugin: "numbers"
      param { key: "count" value: "3" }
      param { key: "epochs" value: "2" })");
  EXPECT_EQ(harness.run_source(), 6u);
  EXPECT_TRUE(harness.source_finished());
  EXPECT_THAT(harness.ended_epochs(), ElementsAre(0, 1));
  EXPECT_THAT(Values(harness.outputs_of_type<Number>()), ElementsAre(0, 1, 2, 0, 1, 2));
  // The end of epoch 0 comes after epoch 0's data and before epoch 1's.
  EXPECT_EQ(harness.outputs()[3].kind, HarnessOutput::Kind::kEndOfEpoch);
  EXPECT_EQ(harness.outputs()[3].port, -1);
  EXPECT_EQ(harness.outputs()[4].epoch, 1);
  EXPECT_EQ(harness.run_source(), 0u);  // finished sources are not asked again
}

TEST(StageHarness, RunsASourceInSteps) {
  const Registry registry = HarnessRegistry();
  StageHarness harness(registry, R"(plugin: "numbers" param { key: "count" value: "5" })");
  EXPECT_EQ(harness.run_source(2), 2u);
  EXPECT_FALSE(harness.source_finished());
  harness.clear_outputs();
  EXPECT_EQ(harness.run_source(), 3u);
  EXPECT_THAT(Values(harness.outputs_of_type<Number>()), ElementsAre(2, 3, 4));
}

TEST(StageHarness, StopRequestReachesTheSource) {
  const Registry registry = HarnessRegistry();
  StageHarness harness(registry, R"(plugin: "numbers" param { key: "count" value: "5" })");
  EXPECT_EQ(harness.run_source(1), 1u);
  harness.request_stop();
  EXPECT_EQ(harness.run_source(), 0u);
  EXPECT_TRUE(harness.source_finished());
}

TEST(StageHarness, InvalidParamsThrowWithLocatedDiagnostics) {
  const Registry registry = HarnessRegistry();
  try {
    StageHarness harness(registry,
                         R"(plugin: "scale" param { key: "factor" value: "x" } param { key: )"
                         R"("mdoe" value: "add" })");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_THAT(what, HasSubstr("<stage spec>:1:46: error: stage \"scale\": parameter \"factor\": "
                                "expects a number, got \"x\""));
    EXPECT_THAT(what, HasSubstr("<stage spec>:1:65: error: stage \"scale\": plugin \"scale\" has "
                                "no parameter \"mdoe\" (did you mean \"mode\"?)"));
  }
}

TEST(StageHarness, MissingRequiredParamThrows) {
  const Registry registry = HarnessRegistry();
  EXPECT_THROW(StageHarness(registry, R"(plugin: "print")"), std::invalid_argument);
  StageHarness ok(registry, R"(plugin: "print" param { key: "path" value: "x" })");
  EXPECT_EQ(ok.params().get_string("path"), "x");
}

TEST(StageHarness, UnknownPluginAndSyntaxErrorsThrow) {
  const Registry registry = HarnessRegistry();
  try {
    StageHarness harness(registry, R"(plugin: "scal")");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown plugin \"scal\" (did you mean \"scale\"?)"));
  }
  try {
    StageHarness harness(registry, R"(plugin: "scale" param { key: "factor" )");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("syntax error"));
  }
}

TEST(StageHarness, RefusesInputsTheStageDoesNotDeclare) {
  const Registry registry = HarnessRegistry();
  StageHarness harness(registry, R"(plugin: "scale")");
  EXPECT_THROW(harness.push(1, 0, 0, N(1)), std::out_of_range);
  EXPECT_THROW(harness.push(0, 0, 0, std::make_shared<NumberBatch>()), std::invalid_argument);
  EXPECT_THROW(harness.push(0, 0, 0, nullptr), std::invalid_argument);
  EXPECT_THROW(harness.input_port("nope"), std::out_of_range);
  EXPECT_THROW(harness.run_source(), std::logic_error);
  EXPECT_TRUE(harness.outputs().empty());
}

TEST(StageHarness, CatchesOutputsThatBreakTheDeclaration) {
  const Registry registry = HarnessRegistry();
  StageHarness liar(registry, R"(plugin: "liar")");
  try {
    liar.push(0, 0, 0, N(1));
    FAIL() << "expected std::logic_error";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("emitted a \"number_batch\" on output port \"out\", declared "
                                    "\"number\""));
  }
  StageHarness wrong_port(registry, R"(plugin: "wrong_port")");
  EXPECT_THROW(wrong_port.push(0, 0, 0, N(1)), std::out_of_range);
}

TEST(StageHarness, NothingAfterClose) {
  const Registry registry = HarnessRegistry();
  StageHarness harness(registry, R"(plugin: "scale")");
  harness.close();
  EXPECT_THROW(harness.push(0, 0, 0, N(1)), std::logic_error);
  EXPECT_THROW(harness.close(), std::logic_error);
}

TEST(StageHarness, SourceRefusesPushes) {
  const Registry registry = HarnessRegistry();
  StageHarness harness(registry, R"(plugin: "numbers")");
  try {
    harness.push(0, 0, 0, N(1));
    FAIL() << "expected std::logic_error";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), StartsWith("StageHarness: stage \"numbers\" (numbers) is a source"));
  }
}

}  // namespace
}  // namespace pipeline::graph_test
