#include "stages/cnn/classification_metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace pipeline::cnn {

void FillTestMetrics(const float* logits, const int32_t* labels, int64_t n, int64_t classes,
                     proto::EpochMetrics* metrics) {
  if (n <= 0) throw std::invalid_argument("no test samples to evaluate");
  if (classes <= 0) throw std::invalid_argument("the model has no classes");
  std::vector<int64_t> confusion(static_cast<size_t>(classes * classes), 0);
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t label = labels[i];
    if (label < 0 || label >= classes) {
      throw std::invalid_argument("test sample " + std::to_string(i) + " has label " +
                                  std::to_string(label) + ", outside 0.." +
                                  std::to_string(classes - 1));
    }
    const float* row = logits + i * classes;
    int64_t predicted = 0;
    for (int64_t c = 1; c < classes; ++c) {
      if (row[c] > row[predicted]) predicted = c;
    }
    // log-sum-exp around the maximum, in double: exact enough for any logit range.
    double sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(double{row[c]} - row[predicted]);
    loss_sum += std::log(sum) + row[predicted] - row[label];
    correct += predicted == label ? 1 : 0;
    ++confusion[static_cast<size_t>(label * classes + predicted)];
  }

  metrics->set_has_test(true);
  metrics->set_test_loss(loss_sum / static_cast<double>(n));
  metrics->set_test_accuracy(static_cast<double>(correct) / static_cast<double>(n));
  metrics->set_test_samples(n);
  metrics->set_classes(static_cast<int32_t>(classes));
  metrics->clear_confusion();
  metrics->mutable_confusion()->Add(confusion.begin(), confusion.end());
  metrics->clear_per_class();
  for (int64_t c = 0; c < classes; ++c) {
    int64_t support = 0, predicted_as = 0;
    for (int64_t other = 0; other < classes; ++other) {
      support += confusion[static_cast<size_t>(c * classes + other)];
      predicted_as += confusion[static_cast<size_t>(other * classes + c)];
    }
    const auto hits = static_cast<double>(confusion[static_cast<size_t>(c * classes + c)]);
    proto::ClassMetrics* row = metrics->add_per_class();
    row->set_support(support);
    row->set_precision(predicted_as > 0 ? hits / static_cast<double>(predicted_as) : 0.0);
    row->set_recall(support > 0 ? hits / static_cast<double>(support) : 0.0);
    const double both = row->precision() + row->recall();
    row->set_f1(both > 0 ? 2 * row->precision() * row->recall() / both : 0.0);
  }
}

std::vector<WrongAnswer> MostConfidentMistakes(const float* logits, const int32_t* labels,
                                               int64_t n, int64_t classes, int count) {
  std::vector<WrongAnswer> wrong;
  if (count <= 0 || classes <= 0) return wrong;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits + i * classes;
    int64_t predicted = 0;
    for (int64_t c = 1; c < classes; ++c) {
      if (row[c] > row[predicted]) predicted = c;
    }
    if (predicted == labels[i]) continue;
    double sum = 0;  // softmax of the winner: 1 / sum(exp(l - max))
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(double{row[c]} - row[predicted]);
    wrong.push_back({i, static_cast<int32_t>(predicted), static_cast<float>(1.0 / sum)});
  }
  const auto more_confident = [](const WrongAnswer& a, const WrongAnswer& b) {
    return a.confidence != b.confidence ? a.confidence > b.confidence : a.sample < b.sample;
  };
  const size_t kept = std::min(wrong.size(), static_cast<size_t>(count));
  std::partial_sort(wrong.begin(), wrong.begin() + static_cast<std::ptrdiff_t>(kept), wrong.end(),
                    more_confident);
  wrong.resize(kept);
  return wrong;
}

}  // namespace pipeline::cnn
