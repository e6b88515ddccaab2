// predictions: the rows it writes (CSV and JSON lines), one per file whatever the number of
// digits, errors as rows, the atomic write, the exit status; and the whole photo path
// (image_source → digit_extract → classifier → predictions) through the engine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline/engine/graph.h"
#include "pipeline/engine/runner.h"
#include "pipeline/payloads.h"
#include "stages/sinks/prediction_rows.h"
#include "stages/sources/idx_reader.h"
#include "tests/unit/fake_classifier.h"
#include "tests/unit/stage_test_util.h"
#include "tools/digit_photos.h"

namespace pipeline {
namespace {

namespace fs = std::filesystem;
using stage_test::OpenStage;
using stage_test::RecordingEmitter;
using stage_test::StandardRegistry;
using stage_test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

std::shared_ptr<Prediction> Reading(const std::string& source, int predicted, float confidence,
                                    cv::Rect box, int part = 0, int parts = 1, int label = -1) {
  auto p = std::make_shared<Prediction>();
  p->source = source;
  p->predicted = predicted;
  p->confidence = confidence;
  p->probabilities.assign(10, 0.0f);
  p->probabilities[static_cast<size_t>(predicted)] = confidence;
  p->probabilities[static_cast<size_t>((predicted + 3) % 10)] = (1 - confidence) * 0.75f;
  p->probabilities[static_cast<size_t>((predicted + 5) % 10)] = (1 - confidence) * 0.25f;
  p->box = box;
  p->part = part;
  p->parts = parts;
  p->label = label;
  return p;
}

std::shared_ptr<Prediction> Failure(const std::string& source, const std::string& error) {
  auto p = std::make_shared<Prediction>();
  p->source = source;
  p->error = error;
  return p;
}

size_t FilesIn(const std::string& folder) {
  size_t count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(folder)) ++count;
  return count;
}

// Three files: two digits read, one unreadable (its message has a comma), one labelled digit.
std::vector<Message> ThreeFiles() {
  return {
      {0, 0, 0, Reading("photos/a.png", 4, 0.9f, {10, 20, 30, 40}, 0, 2)},
      {0, 0, 0, Reading("photos/a.png", 2, 0.8f, {50, 22, 28, 41}, 1, 2)},
      {0, 1, 0, Failure("photos/b, broken.png", "cannot decode: truncated JPEG")},
      {0, 2, 0, Reading("photos/c.png", 7, 0.96f, {1, 2, 3, 4}, 0, 1, 7)},
  };
}

TEST(PredictionsTest, WritesOneCsvRowPerFileAndFailsAfterWritingWhenAFileFailed) {
  TempDir dir;
  const std::string output = dir.file("out.csv");
  const Registry registry = StandardRegistry();
  auto sink = OpenStage(registry, "predictions", {{"output", output}});
  RecordingEmitter out;
  for (const Message& msg : ThreeFiles()) sink->process(msg, out);
  // Nothing appears under the final name before the end: no reader sees half a file.
  EXPECT_FALSE(fs::exists(output));
  EXPECT_EQ(FilesIn(dir.file("")), 1u);  // the temporary one
  testing::internal::CaptureStdout();
  try {
    sink->close(out);
    ADD_FAILURE() << "expected the failed file to fail the run";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("1 of 3 files could not be read"));
  }
  const std::string summary = testing::internal::GetCapturedStdout();
  EXPECT_EQ(summary, "predictions: 3 files, 1 failed, 1 of 1 labelled correct (100.00%) -> " +
                         output + "\n");
  EXPECT_EQ(FilesIn(dir.file("")), 1u);  // renamed: no temporary file is left
  EXPECT_EQ(ReadFile(output),
            "file,prediction,confidence,top3,boxes,rows,label,error\n"
            "photos/a.png,42,0.9000;0.8000,4:0.9000 7:0.0750 9:0.0250;2:0.8000 5:0.1500 "
            "7:0.0500,10 20 30 40;50 22 28 41,0;0,,\n"
            "\"photos/b, broken.png\",,,,,,,cannot decode: truncated JPEG\n"
            "photos/c.png,7,0.9600,7:0.9600 0:0.0300 2:0.0100,1 2 3 4,0,7,\n");
}

TEST(PredictionsTest, WritesJsonLinesAndExitsCleanlyWhenToldTo) {
  TempDir dir;
  const std::string output = dir.file("out.jsonl");
  const Registry registry = StandardRegistry();
  auto sink = OpenStage(registry, "predictions",
                        {{"output", output}, {"format", "jsonl"}, {"fail_on_error", "false"}});
  RecordingEmitter out;
  for (const Message& msg : ThreeFiles()) sink->process(msg, out);
  testing::internal::CaptureStdout();
  EXPECT_NO_THROW(sink->close(out));
  testing::internal::GetCapturedStdout();
  EXPECT_EQ(
      ReadFile(output),
      "{\"file\": \"photos/a.png\", \"prediction\": \"42\", \"confidence\": [0.9000, 0.8000], "
      "\"top3\": [[{\"class\": 4, \"name\": \"4\", \"p\": 0.9000}, {\"class\": 7, \"name\": \"7\", "
      "\"p\": 0.0750}, "
      "{\"class\": 9, \"name\": \"9\", \"p\": 0.0250}], [{\"class\": 2, \"name\": \"2\", \"p\": "
      "0.8000}, {\"class\": 5, \"name\": \"5\", "
      "\"p\": 0.1500}, {\"class\": 7, \"name\": \"7\", \"p\": 0.0500}]], \"boxes\": [[10, 20, 30, "
      "40], "
      "[50, 22, 28, 41]], \"rows\": [0, 0], \"label\": null, \"error\": null}\n"
      "{\"file\": \"photos/b, broken.png\", \"prediction\": \"\", \"confidence\": [], "
      "\"top3\": [], \"boxes\": [], \"rows\": [], \"label\": null, \"error\": \"cannot "
      "decode: "
      "truncated JPEG\"}\n"
      "{\"file\": \"photos/c.png\", \"prediction\": \"7\", \"confidence\": [0.9600], "
      "\"top3\": [[{\"class\": 7, \"name\": \"7\", \"p\": 0.9600}, {\"class\": 0, \"name\": \"0\", "
      "\"p\": 0.0300}, "
      "{\"class\": 2, \"name\": \"2\", \"p\": 0.0100}]], \"boxes\": [[1, 2, 3, 4]], \"rows\": [0], "
      "\"label\": \"7\", \"error\": null}\n");
}

// A model trained on a dataset with class names (Fashion-MNIST) writes the names, separated by
// spaces since they are words, in the prediction, the label and the JSON top 3.
TEST(PredictionsTest, WritesTheModelsClassNames) {
  const auto names = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                               "Shirt", "Sneaker", "Bag", "Ankle boot"});
  PredictionGroup group;
  for (const auto& [predicted, part] : {std::pair{9, 0}, std::pair{7, 1}}) {
    auto reading = Reading("shoes.png", predicted, 0.9f, {0, 0, 28, 28}, part, 2, predicted);
    reading->class_names = names;
    group.parts.push_back(reading);
  }
  const PredictionRow row = MakeRow(group, 3);
  EXPECT_EQ(row.text(), "Ankle boot Sneaker");
  EXPECT_EQ(row.label, "Ankle boot Sneaker");
  EXPECT_TRUE(row.correct());
  EXPECT_THAT(CsvLine(row), ::testing::StartsWith("shoes.png,Ankle boot Sneaker,0.9000;0.9000,"));
  EXPECT_THAT(JsonLine(row), HasSubstr("{\"class\": 9, \"name\": \"Ankle boot\", \"p\": 0.9000}"));
  // One-character names (digits) still run together.
  auto digit = Reading("d.png", 4, 0.9f, {0, 0, 1, 1});
  digit->class_names = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
  PredictionGroup digits;
  digits.parts = {digit, digit};
  EXPECT_EQ(MakeRow(digits, 3).text(), "44");
}

TEST(PredictionsTest, MarksADigitReadWithLowConfidenceAsUncertain) {
  // "4" at 0.9 and a "2" the model gives only 0.35: by default (0.5) the 2 is written "?", its
  // guess kept in top3 and confidence; a threshold of 0 writes every guess.
  for (const auto& [threshold, digits] :
       std::vector<std::pair<std::string, std::string>>{{"", "4?"}, {"0", "42"}, {"0.95", "??"}}) {
    TempDir dir;
    const std::string output = dir.file("out.csv");
    const Registry registry = StandardRegistry();
    std::map<std::string, std::string> params = {{"output", output}};
    if (!threshold.empty()) params["uncertain_below"] = threshold;
    auto sink = OpenStage(registry, "predictions", params);
    RecordingEmitter out;
    sink->process({0, 0, 0, Reading("photos/a.png", 4, 0.9f, {10, 20, 30, 40}, 0, 2)}, out);
    sink->process({0, 0, 0, Reading("photos/a.png", 2, 0.35f, {50, 22, 28, 41}, 1, 2)}, out);
    testing::internal::CaptureStdout();
    EXPECT_NO_THROW(sink->close(out));
    testing::internal::GetCapturedStdout();
    EXPECT_THAT(ReadFile(output), HasSubstr("photos/a.png," + digits + ",0.9000;0.3500,"))
        << "uncertain_below=" << threshold;
  }
}

TEST(PredictionsTest, TellsWhichLineOfWritingEachDigitIsOn) {
  TempDir dir;
  const std::string output = dir.file("out.jsonl");
  const Registry registry = StandardRegistry();
  auto sink = OpenStage(registry, "predictions", {{"output", output}, {"format", "jsonl"}});
  RecordingEmitter out;
  // A house number over a street number: "12" on the first line, "7" under it.
  auto first = Reading("photos/sign.png", 1, 0.9f, {10, 10, 20, 40}, 0, 3);
  auto second = Reading("photos/sign.png", 2, 0.9f, {40, 10, 30, 40}, 1, 3);
  auto third = Reading("photos/sign.png", 7, 0.9f, {10, 80, 30, 40}, 2, 3);
  third->row = 1;
  for (const auto& reading : {first, second, third}) sink->process({0, 0, 0, reading}, out);
  testing::internal::CaptureStdout();
  EXPECT_NO_THROW(sink->close(out));
  testing::internal::GetCapturedStdout();
  EXPECT_THAT(ReadFile(output), HasSubstr("\"prediction\": \"127\""));
  EXPECT_THAT(ReadFile(output), HasSubstr("\"rows\": [0, 0, 1]"));

  // The same rows in the CSV's `rows` column.
  const std::string csv = dir.file("out.csv");
  auto csv_sink = OpenStage(registry, "predictions", {{"output", csv}});
  for (const auto& reading : {first, second, third}) csv_sink->process({0, 0, 0, reading}, out);
  testing::internal::CaptureStdout();
  EXPECT_NO_THROW(csv_sink->close(out));
  testing::internal::GetCapturedStdout();
  EXPECT_THAT(ReadFile(csv), HasSubstr(",10 10 20 40;40 10 30 40;10 80 30 40,0;0;1,"));
}

TEST(PredictionsTest, StreamsRowsToStdoutAsTheyComplete) {
  const Registry registry = StandardRegistry();
  auto sink = OpenStage(registry, "predictions", {{"output", "-"}, {"fail_on_error", "false"}});
  RecordingEmitter out;
  const std::vector<Message> messages = ThreeFiles();
  testing::internal::CaptureStdout();
  sink->process(messages[0], out);
  sink->process(messages[1], out);  // both parts of a.png: its row is complete
  const std::string streamed = testing::internal::GetCapturedStdout();
  EXPECT_THAT(streamed, HasSubstr("photos/a.png,42,"));
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  sink->process(messages[2], out);
  sink->process(messages[3], out);
  sink->close(out);
  const std::string rest = testing::internal::GetCapturedStdout();
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("predictions: 3 files, 1 failed"));
  EXPECT_THAT(rest, HasSubstr("broken.png"));
  EXPECT_THAT(rest, HasSubstr("photos/c.png,7,"));
}

TEST(PredictionsTest, GroupsDigitsOfOneFileEvenWhenTheClassifierDroppedParts) {
  TempDir dir;
  const std::string output = dir.file("out.csv");
  const Registry registry = StandardRegistry();
  auto sink = OpenStage(registry, "predictions", {{"output", output}});
  RecordingEmitter out;
  // parts left at 1 for each digit of one file: the (epoch, index) still groups them.
  sink->process({0, 5, 0, Reading("x.png", 1, 0.5f, {0, 0, 1, 1})}, out);
  sink->process({0, 5, 0, Reading("x.png", 2, 0.5f, {2, 0, 1, 1})}, out);
  sink->process({0, 5, 0, Reading("x.png", 3, 0.5f, {4, 0, 1, 1})}, out);
  sink->process({0, 6, 0, Reading("x.png", 9, 0.5f, {0, 0, 1, 1})}, out);  // listed twice
  testing::internal::CaptureStdout();
  sink->close(out);
  testing::internal::GetCapturedStdout();
  std::istringstream rows(ReadFile(output));
  std::string header, first, second, extra;
  std::getline(rows, header);
  std::getline(rows, first);
  std::getline(rows, second);
  EXPECT_THAT(first, testing::StartsWith("x.png,123,"));
  EXPECT_THAT(second, testing::StartsWith("x.png,9,"));
  EXPECT_FALSE(std::getline(rows, extra));
}

TEST(PredictionsTest, ARunThatFailsLeavesNoFileBehind) {
  TempDir dir;
  const std::string output = dir.file("out.csv");
  {
    const Registry registry = StandardRegistry();
    auto sink = OpenStage(registry, "predictions", {{"output", output}});
    RecordingEmitter out;
    sink->process(ThreeFiles()[0], out);
  }  // destroyed without close(), as after a failure elsewhere in the graph
  EXPECT_FALSE(fs::exists(output));
  EXPECT_EQ(FilesIn(dir.file("")), 0u);  // the temporary file is removed too
}

// The product path through the engine: photos made from MNIST digits, an unreadable file and a
// blank page in one folder; the classifier is a stand-in, so the digits read are 1, 12, 123...
TEST(PredictionsTest, FolderOfPhotosGivesOneRowPerFileThroughTheEngine) {
  TempDir dir;
  const std::string photos_dir = dir.file("photos");
  fs::create_directories(photos_dir);
  const IdxImages images =
      ReadIdxImages(std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz");
  std::mt19937_64 rng(4);
  const photos::Photo single =
      photos::Render(photos::SingleDigitScene(images.image(0), 7, rng), rng);
  ASSERT_TRUE(cv::imwrite(photos_dir + "/a_label7.jpg", single.image));
  const photos::Photo strip = photos::Render(
      photos::StripScene({images.image(1), images.image(2), images.image(3)}, {2, 1, 0}, rng), rng);
  ASSERT_TRUE(cv::imwrite(photos_dir + "/b_strip.png", strip.image));
  std::ofstream(photos_dir + "/c_broken.png") << "not a png";
  photos::Scene blank_scene = photos::SingleDigitScene(images.image(0), 7, rng);
  blank_scene.digits.clear();
  ASSERT_TRUE(cv::imwrite(photos_dir + "/d_blank.jpg", photos::Render(blank_scene, rng).image));

  Registry registry = StandardRegistry();
  stage_test::RegisterFakeClassifier(registry);
  const std::string output = dir.file("predictions.csv");
  const std::string graph =
      "stage { name: \"source\" plugin: \"image_source\" param { key: \"path\" value: \"" +
      photos_dir +
      "\" } }\n"
      "stage { name: \"extract\" plugin: \"digit_extract\" input: \"source\" }\n"
      "stage { name: \"classify\" plugin: \"fake_classify\" input: \"extract\" }\n"
      "stage { name: \"output\" plugin: \"predictions\" input: \"classify\" "
      "param { key: \"output\" value: \"" +
      output + "\" } }\n";
  LoadResult loaded = LoadGraphText(graph, "photos.graph", registry, {});
  ASSERT_TRUE(loaded.graph) << FormatAll(loaded.errors);
  RunOptions options;
  options.threads = 2;
  testing::internal::CaptureStdout();
  const RunResult result = RunGraph(*loaded.graph, options);
  const std::string summary = testing::internal::GetCapturedStdout();
  // Two files failed, so the run fails — after writing every row.
  EXPECT_FALSE(result.ok);
  EXPECT_THAT(result.error, HasSubstr("2 of 4 files could not be read"));
  EXPECT_THAT(summary, HasSubstr("predictions: 4 files, 2 failed, 0 of 1 labelled correct"));
  std::istringstream rows(ReadFile(output));
  std::vector<std::string> lines;
  for (std::string line; std::getline(rows, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[1], testing::MatchesRegex(".*/a_label7.jpg,1,0.7500,1:0.7500 2:0.0900 "
                                              "[0-9]:0.0200,[0-9]+ [0-9]+ [0-9]+ [0-9]+,0,7,"));
  EXPECT_THAT(lines[2], testing::MatchesRegex(".*/b_strip.png,123,0.7500;0.7500;0.7500,.*,,"));
  EXPECT_THAT(lines[3],
              testing::MatchesRegex(".*/c_broken.png,,,,,,,cannot decode: not an image.*"));
  EXPECT_THAT(lines[4], testing::MatchesRegex(".*/d_blank.jpg,,,,,,,no digit found"));
}

}  // namespace
}  // namespace pipeline
