// Trainer with a GradientReducer (nn/gradient_reducer.h): ranks simulated by threads that sum
// their buffers in rank order. Each rank's model must stay bit-identical to the others', and
// match one process training on the whole global batch to within float rounding; a rank with
// one batch fewer joins the others' last update through finish_epoch().
#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "nn/trainer.h"

namespace pipeline::cnn {
namespace {

// Sums the buffers of `ranks` threads in rank order; every thread gets the same result.
class ThreadGroup {
 public:
  explicit ThreadGroup(int ranks) : buffers_(static_cast<size_t>(ranks)) {}

  void sum(int rank, std::span<float> values) {
    std::unique_lock lock(mutex_);
    const int64_t generation = generation_;
    buffers_[static_cast<size_t>(rank)] = values;
    if (++arrived_ < static_cast<int>(buffers_.size())) {
      done_.wait(lock, [&] { return generation_ != generation; });
      return;
    }
    std::vector<float> total(values.size(), 0.0f);
    for (const auto& buffer : buffers_) {
      for (size_t i = 0; i < total.size(); ++i) total[i] += buffer[i];
    }
    for (auto& buffer : buffers_) std::copy(total.begin(), total.end(), buffer.begin());
    arrived_ = 0;
    ++generation_;
    done_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<std::span<float>> buffers_;
  int arrived_ = 0;
  int64_t generation_ = 0;
};

class ThreadReducer final : public GradientReducer {
 public:
  ThreadReducer(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
  void sum(std::span<float> values) override { group_.sum(rank_, values); }

 private:
  ThreadGroup& group_;
  int rank_;
};

proto::ModelSpec TinySpec() {
  proto::ModelSpec spec;
  spec.mutable_input()->set_rows(4);
  spec.mutable_input()->set_cols(4);
  spec.mutable_input()->set_channels(1);
  spec.add_layer()->mutable_flatten();
  spec.add_layer()->mutable_dense()->set_units(8);
  spec.add_layer()->mutable_relu();
  spec.add_layer()->mutable_dense()->set_units(3);
  return spec;
}

proto::OptimizerSpec Sgd() {
  proto::OptimizerSpec spec;
  spec.mutable_sgd()->set_momentum(0.9f);
  return spec;
}

proto::ScheduleSpec Constant() {
  proto::ScheduleSpec spec;
  spec.set_base_lr(0.1f);
  spec.mutable_constant();
  return spec;
}

// `count` deterministic 4x4 images with labels 0..2.
struct Data {
  std::vector<float> images;
  std::vector<int32_t> labels;
};
Data MakeData(int count) {
  Data data;
  for (int i = 0; i < count; ++i) {
    for (int p = 0; p < 16; ++p) data.images.push_back(std::sin(static_cast<float>(i * 16 + p)));
    data.labels.push_back(i % 3);
  }
  return data;
}

std::vector<float> Weights(Model& model) {
  std::vector<float> all;
  for (const Parameter* parameter : model.parameters()) {
    const std::vector<float> logical = parameter->logical_values();  // stored layouts may differ
    all.insert(all.end(), logical.begin(), logical.end());
  }
  return all;
}

// One process: global batches of `batch` over `count` samples, one epoch.
std::vector<float> TrainAlone(const Data& data, int count, int batch) {
  Model model(TinySpec(), 3);
  Trainer trainer(model, Sgd(), Constant());
  for (int first = 0; first < count; first += batch) {
    const int n = std::min(batch, count - first);
    trainer.step(data.images.data() + first * 16, data.labels.data() + first, n);
  }
  return Weights(model);
}

// `ranks` threads, rank r reading positions r, r + ranks, ... in local batches of batch / ranks.
std::vector<std::vector<float>> TrainTogether(const Data& data, int count, int batch, int ranks) {
  ThreadGroup group(ranks);
  std::vector<std::vector<float>> weights(static_cast<size_t>(ranks));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < ranks; ++rank) {
    threads.emplace_back([&, rank] {
      Data mine;
      for (int p = rank; p < count; p += ranks) {
        mine.images.insert(mine.images.end(), data.images.begin() + p * 16,
                           data.images.begin() + (p + 1) * 16);
        mine.labels.push_back(data.labels[static_cast<size_t>(p)]);
      }
      Model model(TinySpec(), 3);
      Trainer trainer(model, Sgd(), Constant());
      ThreadReducer reducer(group, rank);
      trainer.set_gradient_reducer(&reducer);
      const int local = batch / ranks;
      const int held = static_cast<int>(mine.labels.size());
      for (int first = 0; first < held; first += local) {
        trainer.step(mine.images.data() + first * 16, mine.labels.data() + first,
                     std::min(local, held - first));
      }
      trainer.finish_epoch();
      weights[static_cast<size_t>(rank)] = Weights(model);
      EXPECT_EQ(model.step(), static_cast<uint64_t>((count + batch - 1) / batch));
    });
  }
  for (auto& thread : threads) thread.join();
  return weights;
}

void ExpectSameTraining(int count, int batch, int ranks) {
  const Data data = MakeData(count);
  const std::vector<float> alone = TrainAlone(data, count, batch);
  const auto together = TrainTogether(data, count, batch, ranks);
  for (int rank = 1; rank < ranks; ++rank) {
    EXPECT_EQ(together[static_cast<size_t>(rank)], together[0]) << "rank " << rank;
  }
  ASSERT_EQ(together[0].size(), alone.size());
  for (size_t i = 0; i < alone.size(); ++i) {
    ASSERT_NEAR(together[0][i], alone[i], 1e-4) << "weight " << i;
  }
}

TEST(DataParallelTrainer, TwoRanksTrainLikeOneProcess) { ExpectSameTraining(64, 16, 2); }

// 37 samples, global batch 12 over 3 ranks: the last global batch holds 1 sample, so ranks 1 and
// 2 have no share of it and join rank 0's update through finish_epoch().
TEST(DataParallelTrainer, RanksWithoutAShareOfTheLastBatchJoinItsUpdate) {
  ExpectSameTraining(37, 12, 3);
}

}  // namespace
}  // namespace pipeline::cnn
