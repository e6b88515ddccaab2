#include "stages/sinks/prediction_rows.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "pipeline/text_fields.h"
namespace pipeline {
namespace {

// A row's names may be absent (null): the classes are then their numbers.
std::string ClassName(const std::vector<std::string>* names, int label) {
  return names != nullptr ? pipeline::ClassName(*names, label) : std::to_string(label);
}

// `uncertain`: which classes to write as "?" (empty: none).
std::string JoinClasses(const std::vector<int>& classes, const std::vector<std::string>* names,
                        const std::vector<bool>& uncertain = {}) {
  const bool wide = std::any_of(classes.begin(), classes.end(),
                                [&](int c) { return ClassName(names, c).size() > 1; });
  std::string text;
  for (size_t i = 0; i < classes.size(); ++i) {
    if (wide && i > 0) text += ' ';
    text += i < uncertain.size() && uncertain[i] ? "?" : ClassName(names, classes[i]);
  }
  return text;
}

std::string Fixed(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.4f", value);
  return text;
}

template <typename T, typename Format>
std::string Join(const std::vector<T>& items, const std::string& separator, Format format) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) text += separator;
    text += format(items[i]);
  }
  return text;
}

}  // namespace

std::string PredictionRow::text() const {
  std::vector<int> classes;
  std::vector<bool> uncertain;
  for (const DigitReading& digit : digits) {
    classes.push_back(digit.predicted);
    uncertain.push_back(digit.uncertain);
  }
  return JoinClasses(classes, class_names.get(), uncertain);
}

PredictionRow MakeRow(const PredictionGroup& group, int top_count, float uncertain_below) {
  PredictionRow row;
  row.file = group.first().source;
  row.class_names = group.first().class_names;
  std::vector<int> labels;
  for (const auto& part : group.parts) {
    if (!part->error.empty()) {
      if (row.error.find(part->error) == std::string::npos) {
        row.error += (row.error.empty() ? "" : "; ") + part->error;
      }
      continue;
    }
    labels.push_back(part->label);
    DigitReading digit;
    digit.predicted = part->predicted;
    digit.confidence = part->confidence;
    digit.uncertain = part->confidence < uncertain_below;
    digit.box = part->box;
    digit.row = part->row;
    const auto& p = part->probabilities;
    std::vector<int> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    const size_t count = std::min(order.size(), static_cast<size_t>(std::max(0, top_count)));
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count),
                      order.end(), [&](int a, int b) { return p[a] > p[b]; });
    for (size_t i = 0; i < count; ++i) digit.top.emplace_back(order[i], p[order[i]]);
    row.digits.push_back(std::move(digit));
  }
  // A label is the photo's truth only when every part has one (an MNIST sample, a photo of one
  // digit named "..._label7.png").
  const bool known = !labels.empty() && row.error.empty() &&
                     std::all_of(labels.begin(), labels.end(), [](int l) { return l >= 0; });
  if (known) row.label = JoinClasses(labels, row.class_names.get());
  return row;
}

std::string CsvHeader() { return "file,prediction,confidence,top3,boxes,rows,label,error\n"; }

// prediction and label: PredictionRow::text(). confidence: one per digit, ';'-separated. top3: per
// digit "class:p class:p class:p" with class numbers (names may hold spaces), ';'-separated.
// boxes: per digit "x y w h", ';'-separated. rows: per digit its line of writing, 0 the topmost,
// ';'-separated (the digits of `prediction` run on across lines; this says where each begins).
std::string CsvLine(const PredictionRow& row) {
  const std::string confidence =
      Join(row.digits, ";", [](const DigitReading& d) { return Fixed(d.confidence); });
  const std::string top = Join(row.digits, ";", [](const DigitReading& d) {
    return Join(d.top, " ", [](const std::pair<int, float>& t) {
      return std::to_string(t.first) + ":" + Fixed(t.second);
    });
  });
  const std::string boxes = Join(row.digits, ";", [](const DigitReading& d) {
    return std::to_string(d.box.x) + " " + std::to_string(d.box.y) + " " +
           std::to_string(d.box.width) + " " + std::to_string(d.box.height);
  });
  const std::string rows =
      Join(row.digits, ";", [](const DigitReading& d) { return std::to_string(d.row); });
  return CsvField(row.file) + "," + CsvField(row.text()) + "," + confidence + "," + top + "," +
         boxes + "," + rows + "," + CsvField(row.label) + "," + CsvField(row.error) + "\n";
}

std::string JsonLine(const PredictionRow& row) {
  std::string line =
      "{\"file\": " + JsonString(row.file) + ", \"prediction\": " + JsonString(row.text()) +
      ", \"confidence\": [" +
      Join(row.digits, ", ", [](const DigitReading& d) { return Fixed(d.confidence); }) +
      "], \"top3\": [" +
      Join(row.digits, ", ",
           [&](const DigitReading& d) {
             return "[" +
                    Join(d.top, ", ",
                         [&](const std::pair<int, float>& t) {
                           return "{\"class\": " + std::to_string(t.first) + ", \"name\": " +
                                  JsonString(ClassName(row.class_names.get(), t.first)) +
                                  ", \"p\": " + Fixed(t.second) + "}";
                         }) +
                    "]";
           }) +
      "], \"boxes\": [" +
      Join(row.digits, ", ",
           [](const DigitReading& d) {
             return "[" + std::to_string(d.box.x) + ", " + std::to_string(d.box.y) + ", " +
                    std::to_string(d.box.width) + ", " + std::to_string(d.box.height) + "]";
           }) +
      "], \"rows\": [" +
      Join(row.digits, ", ", [](const DigitReading& d) { return std::to_string(d.row); }) + "]";
  line += ", \"label\": " + (row.label.empty() ? std::string("null") : JsonString(row.label));
  line += ", \"error\": " + (row.error.empty() ? std::string("null") : JsonString(row.error));
  return line + "}\n";
}

}  // namespace pipeline
