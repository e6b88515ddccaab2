// The arithmetic of data-parallel runs (pipeline/process_group.h): how an epoch's positions and a
// global batch are shared by ranks, idx_source reading its shard, and batch gathering its share
// of each global batch — together the ranks must see exactly the single-process run's batches.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/payloads.h"
#include "pipeline/process_group.h"
#include "tests/unit/stage_test_util.h"

namespace pipeline {
namespace {

using stage_test::DrainSource;
using stage_test::Feed;
using stage_test::MakeParams;
using stage_test::RecordingEmitter;
using stage_test::StandardRegistry;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A rank of a job that never communicates: enough for stages that only ask who they are.
class FakeRank final : public ProcessGroup {
 public:
  FakeRank(int rank, int size) : rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string host() const override { return "test"; }
  void allreduce_sum(std::span<float>) override { throw std::logic_error("no collectives"); }
  std::vector<uint64_t> allgather(uint64_t) override { throw std::logic_error("no collectives"); }
  std::vector<std::string> gather_to_root(const std::string&) override {
    throw std::logic_error("no collectives");
  }
  void barrier() override {}
  [[noreturn]] void abort_job(const std::string& message, int) override {
    throw std::logic_error(message);
  }

 private:
  int rank_, size_;
};

TEST(ShardTest, EvenSharesCoverEverythingOnceAndDifferByAtMostOne) {
  for (int64_t total = 0; total <= 40; ++total) {
    for (int parts = 1; parts <= 7; ++parts) {
      int64_t next = 0, smallest = total, largest = 0;
      for (int index = 0; index < parts; ++index) {
        const ShareRange share = EvenShare(total, parts, index);
        EXPECT_EQ(share.begin, next) << total << " over " << parts;
        next = share.end;
        smallest = std::min(smallest, share.size());
        largest = std::max(largest, share.size());
      }
      EXPECT_EQ(next, total);
      EXPECT_LE(largest - smallest, 1);
    }
  }
  EXPECT_THROW(EvenShare(5, 0, 0), std::invalid_argument);
  EXPECT_THROW(EvenShare(5, 2, 2), std::invalid_argument);
}

// For uneven epoch sizes, every number of ranks and every global batch it divides: the ranks'
// k-th local batches (size B / N, each rank's last one partial or missing) together are exactly
// the single-process run's k-th batch.
TEST(ShardTest, LocalBatchesOfAllRanksAreTheSingleProcessBatches) {
  for (int64_t epoch : {1, 2, 7, 61, 128, 129, 1001}) {
    for (int ranks = 1; ranks <= 5; ++ranks) {
      for (int64_t global_batch : {ranks, 4 * ranks, 6 * ranks}) {
        const int64_t local_batch = global_batch / ranks;
        std::map<int64_t, std::set<int64_t>> union_of_batches;  // k -> positions
        int64_t read = 0;
        for (int rank = 0; rank < ranks; ++rank) {
          std::vector<int64_t> mine;
          for (int64_t p = 0; p < epoch; ++p) {
            if (ShardOwner(p, ranks) == rank) mine.push_back(p);
          }
          EXPECT_EQ(static_cast<int64_t>(mine.size()), ShardSize(epoch, ranks, rank));
          read += static_cast<int64_t>(mine.size());
          for (size_t i = 0; i < mine.size(); ++i) {
            union_of_batches[static_cast<int64_t>(i) / local_batch].insert(mine[i]);
          }
        }
        EXPECT_EQ(read, epoch);
        const int64_t batches = (epoch + global_batch - 1) / global_batch;
        ASSERT_EQ(static_cast<int64_t>(union_of_batches.size()), batches)
            << epoch << " samples, " << ranks << " ranks, batch " << global_batch;
        for (const auto& [k, positions] : union_of_batches) {
          const int64_t first = k * global_batch;
          const int64_t last = std::min(epoch, first + global_batch);
          ASSERT_EQ(static_cast<int64_t>(positions.size()), last - first);
          EXPECT_EQ(*positions.begin(), first);
          EXPECT_EQ(*positions.rbegin(), last - 1);
        }
      }
    }
  }
}

std::unique_ptr<Stage> OpenAsRank(const std::string& plugin,
                                  const std::map<std::string, std::string>& overrides,
                                  ProcessGroup* world) {
  static const Registry registry = StandardRegistry();
  const Registry::Entry* entry = registry.find(plugin);
  std::unique_ptr<Stage> stage = entry->info.create();
  StageEnv env;
  env.name = plugin;
  env.plugin = plugin;
  env.graph_seed = 7;
  env.world = world;
  stage->set_env(env);
  stage->open(MakeParams(entry->info, overrides));
  return stage;
}

// (epoch, global position) -> file index, over the samples a source emitted.
std::map<std::pair<int64_t, int64_t>, std::string> Emitted(const RecordingEmitter& out) {
  std::map<std::pair<int64_t, int64_t>, std::string> emitted;
  for (const auto& msg : out.messages()) emitted[{msg.epoch, msg.index}] = msg.as<Sample>().source;
  return emitted;
}

TEST(ShardTest, ShuffledIdxSourceShardsUnionToTheSingleProcessOrder) {
  const std::map<std::string, std::string> params = {
      {"images", std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz"},
      {"labels", std::string(PIPELINE_MNIST_DIR) + "/t10k-labels-idx1-ubyte.gz"},
      {"limit", "101"},
      {"shuffle", "true"},
      {"epochs", "2"}};
  auto single = OpenAsRank("idx_source", params, nullptr);
  const auto expected = Emitted(DrainSource(*single));
  ASSERT_EQ(expected.size(), 202u);
  for (int ranks : {2, 3}) {
    std::map<std::pair<int64_t, int64_t>, std::string> together;
    for (int rank = 0; rank < ranks; ++rank) {
      FakeRank world(rank, ranks);
      auto source = OpenAsRank("idx_source", params, &world);
      const RecordingEmitter out = DrainSource(*source);
      for (const auto& msg : out.messages()) {
        EXPECT_EQ(msg.as<Sample>().shards, ranks);
        EXPECT_EQ(msg.as<Sample>().epoch_size, 101);  // the whole epoch's, for the schedule
        EXPECT_EQ(ShardOwner(msg.index, ranks), rank);
      }
      for (const auto& [key, source_name] : Emitted(out)) together[key] = source_name;
    }
    EXPECT_EQ(together, expected) << ranks << " ranks";
  }
}

TEST(ShardTest, UnshuffledIdxSourceGivesEveryRankEverythingUnlessAskedToShard) {
  const std::map<std::string, std::string> params = {
      {"images", std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz"},
      {"labels", std::string(PIPELINE_MNIST_DIR) + "/t10k-labels-idx1-ubyte.gz"},
      {"limit", "10"}};
  FakeRank world(1, 2);
  EXPECT_EQ(DrainSource(*OpenAsRank("idx_source", params, &world)).messages().size(), 10u);
  auto sharded_params = params;
  sharded_params["shard"] = "on";
  EXPECT_EQ(DrainSource(*OpenAsRank("idx_source", sharded_params, &world)).messages().size(), 5u);
}

Message ShardedSample(int64_t index, int shards) {
  auto sample = std::make_shared<Sample>();
  sample->image = cv::Mat(2, 2, CV_32FC1, cv::Scalar::all(static_cast<double>(index)));
  sample->label = 1;
  sample->source = "s" + std::to_string(index);
  sample->shards = shards;
  return Message{0, index, 0, std::move(sample)};
}

TEST(ShardTest, BatchGathersThisRanksShareOfTheGlobalBatch) {
  FakeRank world(1, 2);
  auto batch = OpenAsRank("batch", {{"size", "4"}}, &world);
  std::vector<Message> samples;  // rank 1's positions of an epoch of 11: 1, 3, 5, 7, 9
  for (int64_t p = 1; p < 11; p += 2) samples.push_back(ShardedSample(p, 2));
  const RecordingEmitter out = Feed(*batch, {samples});
  std::vector<int64_t> sizes;
  for (const auto& msg : out.messages()) sizes.push_back(msg.as<Batch>().size());
  EXPECT_THAT(sizes, ElementsAre(2, 2, 1));
  EXPECT_THAT(out.messages()[1].as<Batch>().indices, ElementsAre(5, 7));

  auto uneven = OpenAsRank("batch", {{"size", "5"}}, &world);
  try {
    Feed(*uneven, {{ShardedSample(1, 2)}});
    FAIL() << "a batch of 5 cannot split over 2 ranks";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not split evenly over 2 ranks"));
  }
}

}  // namespace
}  // namespace pipeline
