// Frames in and out: camera_source on a real video file (every frame, in order), its clear
// failures, and the frame sinks video_writer, image_writer and display.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/payloads.h"
#include "tests/unit/stage_test_util.h"

namespace pipeline {
namespace {

namespace fs = std::filesystem;
using stage_test::DrainSource;
using stage_test::OpenStage;
using stage_test::RecordingEmitter;
using stage_test::StandardRegistry;
using stage_test::TempDir;
using ::testing::HasSubstr;

// Frame f shows a white square whose left edge is at 10 + 4f: its position identifies the frame.
cv::Mat NumberedFrame(int f) {
  cv::Mat frame(120, 160, CV_8UC3, cv::Scalar(30, 30, 30));
  cv::rectangle(frame, cv::Rect(10 + 4 * f, 40, 30, 30), cv::Scalar(255, 255, 255), cv::FILLED);
  return frame;
}

int SquareLeftEdge(const cv::Mat& frame) {
  cv::Mat grey;
  cv::cvtColor(frame, grey, cv::COLOR_BGR2GRAY);
  return cv::boundingRect(grey > 128).x;
}

void WriteClip(const std::string& path, int frames) {
  cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 25, cv::Size(160, 120));
  ASSERT_TRUE(writer.isOpened());
  for (int f = 0; f < frames; ++f) writer.write(NumberedFrame(f));
}

std::shared_ptr<Sample> Frame(cv::Mat image, const std::string& source) {
  auto sample = std::make_shared<Sample>();
  sample->image = std::move(image);
  sample->source = source;
  return sample;
}

TEST(CameraSourceTest, ReadsEveryFrameOfAVideoFileInOrder) {
  TempDir dir;
  WriteClip(dir.file("clip.avi"), 20);
  const Registry registry = StandardRegistry();
  auto source = OpenStage(registry, "camera_source", {{"path", dir.file("clip.avi")}}, "camera");
  testing::internal::CaptureStderr();
  const RecordingEmitter out = DrainSource(*source);
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("clip.avi; 20 frames"));
  const auto messages = out.messages();
  ASSERT_EQ(messages.size(), 20u);
  for (int f = 0; f < 20; ++f) {
    const Sample& sample = messages[static_cast<size_t>(f)].as<Sample>();
    EXPECT_EQ(messages[static_cast<size_t>(f)].index, f);
    EXPECT_EQ(sample.source, "clip.avi#" + std::to_string(f));
    ASSERT_EQ(sample.image.type(), CV_8UC3);
    ASSERT_TRUE(sample.origin);
    EXPECT_EQ(sample.origin->data, sample.image.data);
    EXPECT_NEAR(SquareLeftEdge(sample.image), 10 + 4 * f, 1) << "frame " << f;
  }
  EXPECT_TRUE(out.events.back().is_end_epoch());
}

TEST(CameraSourceTest, StopsAtMaxFramesAndScalesToTheAskedSize) {
  TempDir dir;
  WriteClip(dir.file("clip.avi"), 10);
  const Registry registry = StandardRegistry();
  auto source = OpenStage(
      registry, "camera_source",
      {{"path", dir.file("clip.avi")}, {"max_frames", "4"}, {"width", "80"}, {"height", "60"}});
  testing::internal::CaptureStderr();
  const auto messages = DrainSource(*source).messages();
  testing::internal::GetCapturedStderr();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0].as<Sample>().image.size(), cv::Size(80, 60));
}

// A clip played as if live, to a consumer slower than the clip: stale frames are dropped (and
// counted), what is emitted is always newer than what came before, and the end is clean.
TEST(CameraSourceTest, LiveSourcesDropStaleFramesInsteadOfQueueingThem) {
  TempDir dir;
  WriteClip(dir.file("clip.avi"), 30);
  const Registry registry = StandardRegistry();
  auto source = OpenStage(registry, "camera_source",
                          {{"path", dir.file("clip.avi")}, {"live", "yes"}, {"timeout", "2"}});
  RecordingEmitter out;
  testing::internal::CaptureStderr();
  const auto start = std::chrono::steady_clock::now();
  while (source->produce(out)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a slow pipeline
  }
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string report = testing::internal::GetCapturedStderr();
  const auto messages = out.messages();
  ASSERT_GE(messages.size(), 1u);
  EXPECT_LT(messages.size(), 30u);
  EXPECT_THAT(report, HasSubstr("dropped (a newer frame was ready)"));
  int previous = -1;
  for (const auto& msg : messages) {
    const int position = SquareLeftEdge(msg.as<Sample>().image);
    EXPECT_GT(position, previous);
    previous = position;
  }
  EXPECT_LT(seconds, 1.5);  // ended with the file, not after the 2 s timeout
}

TEST(CameraSourceTest, FailsClearlyWhenThereIsNothingToRead) {
  TempDir dir;
  const Registry registry = StandardRegistry();
  auto expect_open_error = [&](const std::map<std::string, std::string>& params,
                               const std::string& message) {
    try {
      OpenStage(registry, "camera_source", params, "camera");
      ADD_FAILURE() << "expected an error containing: " << message;
    } catch (const std::exception& e) {
      EXPECT_THAT(e.what(), HasSubstr(message));
    }
  };
  expect_open_error({{"path", dir.file("missing.avi")}}, "missing.avi: no such video file");
  std::ofstream(dir.file("text.avi")) << "not a video";
  expect_open_error({{"path", dir.file("text.avi")}}, "cannot read it as a video");
  expect_open_error({{"device", "-1"}}, "set path");
  // No machine running the tests has 900 cameras: a missing one fails at once, naming the way
  // to use a file.
  expect_open_error({{"device", "900"}}, "cannot open camera 900");
  expect_open_error({{"device", "900"}}, "--set camera.path=clip.avi");
}

TEST(CameraSourceTest, EndsWhenStopIsRequested) {
  TempDir dir;
  WriteClip(dir.file("clip.avi"), 10);
  const Registry registry = StandardRegistry();
  auto source = OpenStage(registry, "camera_source", {{"path", dir.file("clip.avi")}});
  std::atomic<bool> stop{false};
  StageEnv env = source->env();
  env.stop_requested = &stop;
  source->set_env(env);
  RecordingEmitter out;
  testing::internal::CaptureStderr();
  EXPECT_TRUE(source->produce(out));
  stop = true;
  EXPECT_FALSE(source->produce(out));
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("stopped; 1 frames"));
  EXPECT_EQ(out.messages().size(), 1u);
}

TEST(VideoWriterTest, WritesAVideoThatReadsBackFrameByFrame) {
  TempDir dir;
  const std::string path = dir.file("out.avi");
  const Registry registry = StandardRegistry();
  auto sink = OpenStage(registry, "video_writer", {{"path", path}, {"fps", "25"}});
  RecordingEmitter out;
  for (int f = 0; f < 12; ++f) sink->process({0, f, 0, Frame(NumberedFrame(f), "x")}, out);
  // A grey frame and a frame of another size are converted; a frame without a picture skipped.
  cv::Mat grey;
  cv::cvtColor(NumberedFrame(12), grey, cv::COLOR_BGR2GRAY);
  sink->process({0, 12, 0, Frame(grey, "x")}, out);
  cv::Mat big;
  cv::resize(NumberedFrame(13), big, cv::Size(320, 240));
  sink->process({0, 13, 0, Frame(big, "x")}, out);
  sink->process({0, 14, 0, Frame(cv::Mat(), "broken")}, out);
  testing::internal::CaptureStdout();
  sink->close(out);
  EXPECT_THAT(testing::internal::GetCapturedStdout(),
              HasSubstr("video_writer: 14 frames to " + path + " (1 without a picture skipped)"));
  cv::VideoCapture capture(path);
  ASSERT_TRUE(capture.isOpened());
  cv::Mat frame;
  int count = 0;
  while (capture.read(frame)) {
    EXPECT_EQ(frame.size(), cv::Size(160, 120));
    EXPECT_NEAR(SquareLeftEdge(frame), 10 + 4 * count, 2) << "frame " << count;
    ++count;
  }
  EXPECT_EQ(count, 14);
}

TEST(VideoWriterTest, NamesTheProblemWhenTheFileCannotBeWritten) {
  const Registry registry = StandardRegistry();
  auto sink = OpenStage(registry, "video_writer", {{"path", "/nonexistent/folder/out.avi"}});
  RecordingEmitter out;
  try {
    sink->process({0, 0, 0, Frame(NumberedFrame(0), "x")}, out);
    ADD_FAILURE() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/folder/out.avi: cannot write a video"));
  }
}

TEST(ImageWriterTest, WritesEachPictureAsAPngNamedAfterItsSource) {
  TempDir dir;
  const std::string folder = dir.file("frames");
  const Registry registry = StandardRegistry();
  auto sink = OpenStage(registry, "image_writer", {{"folder", folder}});
  RecordingEmitter out;
  sink->process({0, 0, 0, Frame(NumberedFrame(0), "photos/my photo.jpg")}, out);
  sink->process({0, 7, 0, Frame(NumberedFrame(1), "camera0#7")}, out);
  sink->process({0, 8, 0, Frame(cv::Mat(), "broken.png")}, out);
  testing::internal::CaptureStdout();
  sink->close(out);
  EXPECT_THAT(testing::internal::GetCapturedStdout(), HasSubstr("image_writer: 2 images"));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, testing::ElementsAre("000000_my_photo.png", "000007_camera0_7.png"));
  const cv::Mat back = cv::imread(folder + "/000000_my_photo.png", cv::IMREAD_UNCHANGED);
  EXPECT_EQ(cv::norm(back, NumberedFrame(0), cv::NORM_INF), 0);
}

TEST(DisplayTest, WithoutAScreenSaysWhatToUseInstead) {
  const std::string display = std::getenv("DISPLAY") ? std::getenv("DISPLAY") : "";
  const std::string wayland = std::getenv("WAYLAND_DISPLAY") ? std::getenv("WAYLAND_DISPLAY") : "";
  ::unsetenv("DISPLAY");
  ::unsetenv("WAYLAND_DISPLAY");
  const Registry registry = StandardRegistry();
  try {
    OpenStage(registry, "display");
    ADD_FAILURE() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no display"));
    EXPECT_THAT(e.what(), HasSubstr("webcam_to_file.graph"));
    EXPECT_THAT(e.what(), HasSubstr("video_writer"));
  }
  if (!display.empty()) ::setenv("DISPLAY", display.c_str(), 1);
  if (!wayland.empty()) ::setenv("WAYLAND_DISPLAY", wayland.c_str(), 1);
}

}  // namespace
}  // namespace pipeline
