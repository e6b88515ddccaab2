// Shared by the report tests: made-up epoch figures with known values, and checks that a picture
// really shows something.
#pragma once

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <set>
#include <string>
#include <vector>

#include "metrics.pb.h"

namespace pipeline::cnn::testing {

// `count` epochs with falling losses and rising accuracies; every epoch has test figures
// (3 classes, the confusion matrix below), and every other epoch validation figures.
inline std::vector<proto::EpochMetrics> MadeUpEpochs(int count) {
  std::vector<proto::EpochMetrics> epochs;
  for (int e = 0; e < count; ++e) {
    proto::EpochMetrics row;
    row.set_epoch(e);
    row.set_global_step(100 * (e + 1));
    row.set_train_loss(1.0 / (e + 1));
    row.set_train_accuracy(0.80 + 0.04 * e);
    row.set_train_samples(600);
    row.set_train_seconds(2.5);
    row.set_images_per_second(240);
    row.set_learning_rate(0.01 / (e + 1));
    if (e % 2 == 1) {
      row.set_has_validation(true);
      row.set_validation_loss(0.9 / (e + 1));
      row.set_validation_accuracy(0.82 + 0.04 * e);
      row.set_validation_samples(60);
    }
    row.set_has_test(true);
    row.set_test_loss(0.8 / (e + 1));
    row.set_test_accuracy(0.7);
    row.set_test_samples(10);
    row.set_test_seconds(0.5);
    row.set_classes(3);
    // Rows are true classes: 4 of class 0 (3 right), 3 of class 1 (2 right), 3 of class 2.
    for (const int64_t cell : {3, 1, 0, 0, 2, 1, 1, 0, 2}) row.add_confusion(cell);
    const double per_class[3][4] = {
        {0.75, 0.75, 0.75, 4}, {2.0 / 3, 2.0 / 3, 2.0 / 3, 3}, {2.0 / 3, 2.0 / 3, 2.0 / 3, 3}};
    for (const auto& c : per_class) {
      proto::ClassMetrics* m = row.add_per_class();
      m->set_precision(c[0]);
      m->set_recall(c[1]);
      m->set_f1(c[2]);
      m->set_support(static_cast<int64_t>(c[3]));
    }
    epochs.push_back(row);
  }
  return epochs;
}

// A picture shows something: it varies, and it has at least `min_colours` distinct colours.
inline void ExpectNotBlank(const cv::Mat& image, size_t min_colours) {
  ASSERT_FALSE(image.empty());
  ASSERT_EQ(image.type(), CV_8UC3);
  cv::Scalar mean, stddev;
  cv::meanStdDev(image, mean, stddev);
  EXPECT_GT(stddev[0] + stddev[1] + stddev[2], 10.0) << "an almost uniform picture";
  std::set<int> colours;
  for (int r = 0; r < image.rows; ++r) {
    for (int c = 0; c < image.cols; ++c) {
      const cv::Vec3b p = image.at<cv::Vec3b>(r, c);
      colours.insert(p[0] << 16 | p[1] << 8 | p[2]);
    }
  }
  EXPECT_GE(colours.size(), min_colours);
}

// Whether `image` has a pixel within 40 of `bgr` in every channel (a series or bar was drawn).
inline bool HasColourNear(const cv::Mat& image, const cv::Vec3b& bgr) {
  for (int r = 0; r < image.rows; ++r) {
    for (int c = 0; c < image.cols; ++c) {
      const cv::Vec3b p = image.at<cv::Vec3b>(r, c);
      if (std::abs(p[0] - bgr[0]) < 40 && std::abs(p[1] - bgr[1]) < 40 &&
          std::abs(p[2] - bgr[2]) < 40) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace pipeline::cnn::testing
