#include "tools/synth/distractors.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "opencv2/imgproc.hpp"
#include "tools/synth/drawing.h"
#include "tools/synth/photo.h"
#include "tools/synth/random.h"

namespace geoloc::synth {
namespace {

// A muted colour of any hue: walls, floors, furniture.
Color Muted(Rng& rng) { return RandomHsv(rng, 0, 360, 0.05, 0.45, 0.3, 0.9); }
Color Vivid(Rng& rng) { return RandomHsv(rng, 0, 360, 0.5, 1.0, 0.4, 1.0); }

void VerticalGradient(cv::Mat& img, const Color& top, const Color& bottom) {
  for (int y = 0; y < img.rows; ++y) {
    img.row(y).setTo(ToScalar(Mix(top, bottom, static_cast<double>(y) / std::max(1, img.rows))));
  }
}

void Indoor(Rng& rng, cv::Mat& img) {
  const double w = img.cols, h = img.rows;
  const double floor_y = h * rng.Uniform(0.55, 0.8);
  const Color wall = Muted(rng);
  VerticalGradient(img, Scale(wall, 0.85), wall);
  FillRect(img, 0, floor_y, w, h, Muted(rng));
  FillRect(img, 0, floor_y - h * 0.015, w, floor_y, Scale(wall, 0.6));  // skirting
  // A window or door of plain light (nothing of the outside to be seen).
  if (rng.Bernoulli(0.6)) {
    const double x = rng.Uniform(0.05, 0.7) * w, ww = rng.Uniform(0.12, 0.25) * w;
    const double y = rng.Uniform(0.1, 0.3) * h;
    FillRect(img, x, y, x + ww, std::min(floor_y, y + rng.Uniform(0.25, 0.45) * h),
             Color(240, 240, 235));
  }
  // Furniture: boxes on the floor.
  const int pieces = rng.UniformInt(1, 4);
  for (int i = 0; i < pieces; ++i) {
    const double x = rng.Uniform(-0.1, 0.9) * w, pw = rng.Uniform(0.15, 0.4) * w;
    const double ph = rng.Uniform(0.15, 0.4) * h;
    const double base = floor_y + rng.Uniform(0.0, 0.15) * h;
    const Color c = Muted(rng);
    FillRect(img, x, base - ph, x + pw, base, c);
    FillRect(img, x, base - ph, x + pw, base - ph * 0.8, Scale(c, 1.2));
  }
  // A picture on the wall and a lamp.
  if (rng.Bernoulli(0.5)) {
    const double x = rng.Uniform(0.1, 0.8) * w, y = rng.Uniform(0.1, 0.3) * h;
    const double fw = rng.Uniform(0.08, 0.18) * w;
    FillRect(img, x, y, x + fw, y + fw * 0.75, Color(30, 30, 30));
    FillRect(img, x + 2, y + 2, x + fw - 2, y + fw * 0.75 - 2, Vivid(rng));
  }
  if (rng.Bernoulli(0.5)) {
    const double x = rng.Uniform(0.1, 0.9) * w, y = rng.Uniform(0.05, 0.3) * h;
    cv::circle(img, P(x, y), std::max(2, static_cast<int>(0.04 * h)), cv::Scalar(200, 240, 255),
               cv::FILLED, cv::LINE_AA);
  }
}

void Sky(Rng& rng, cv::Mat& img) {
  static const Color kSkies[][2] = {{{200, 120, 40}, {250, 210, 170}},
                                    {{110, 50, 70}, {120, 170, 250}},
                                    {{150, 150, 145}, {215, 215, 210}},
                                    {{60, 30, 20}, {140, 90, 60}}};
  const int sky = rng.UniformInt(0, 3);
  VerticalGradient(img, Jitter(rng, kSkies[sky][0], 20), Jitter(rng, kSkies[sky][1], 20));
  const int clouds = rng.UniformInt(0, 8);
  for (int i = 0; i < clouds; ++i) {
    const double cx = rng.Uniform(0, img.cols), cy = rng.Uniform(0, img.rows);
    const double size = rng.Uniform(0.05, 0.2) * img.cols;
    const Color c = Jitter(rng, Color(240, 240, 240), 15);
    for (int k = 0; k < 4; ++k) {
      const double dx = rng.Uniform(-1, 1) * size, dy = rng.Uniform(-0.3, 0.3) * size;
      cv::ellipse(img, P(cx + dx, cy + dy),
                  cv::Size(static_cast<int>(size), static_cast<int>(size * 0.5)), 0, 0, 360,
                  ToScalar(c), cv::FILLED, cv::LINE_AA);
    }
  }
  if (rng.Bernoulli(0.3)) {  // a bird or a plane
    const double x = rng.Uniform(0, img.cols), y = rng.Uniform(0, img.rows);
    cv::line(img, P(x - 4, y), P(x + 4, y - 2), cv::Scalar(30, 30, 30), 1, cv::LINE_AA);
  }
  cv::GaussianBlur(img, img, cv::Size(0, 0), 1.5);
}

void CloseUp(Rng& rng, cv::Mat& img) {
  const double w = img.cols, h = img.rows;
  img.setTo(ToScalar(Muted(rng)));
  // Out-of-focus background lights.
  const int bokeh = rng.UniformInt(5, 20);
  for (int i = 0; i < bokeh; ++i) {
    cv::circle(img, P(rng.Uniform(0, w), rng.Uniform(0, h)),
               std::max(2, static_cast<int>(rng.Uniform(0.03, 0.1) * w)), ToScalar(Vivid(rng)),
               cv::FILLED, cv::LINE_AA);
  }
  cv::GaussianBlur(img, img, cv::Size(0, 0), std::max(2.0, w / 40));
  // One object filling the frame: a plate, a cup or a flower.
  const double cx = rng.Uniform(0.35, 0.65) * w, cy = rng.Uniform(0.4, 0.7) * h;
  const double r = rng.Uniform(0.25, 0.4) * std::min(w, h);
  switch (rng.UniformInt(0, 2)) {
    case 0: {
      cv::circle(img, P(cx, cy), static_cast<int>(r), cv::Scalar(235, 235, 235), cv::FILLED,
                 cv::LINE_AA);
      const int blobs = rng.UniformInt(3, 8);
      for (int i = 0; i < blobs; ++i) {
        const double a = rng.Uniform(0, 2 * kPi), d = rng.Uniform(0, 0.6) * r;
        cv::circle(img, P(cx + d * std::cos(a), cy + d * std::sin(a)),
                   std::max(2, static_cast<int>(rng.Uniform(0.15, 0.35) * r)),
                   ToScalar(Vivid(rng)), cv::FILLED, cv::LINE_AA);
      }
      break;
    }
    case 1: {
      const Color cup = Vivid(rng);
      FillRect(img, cx - r * 0.5, cy - r * 0.6, cx + r * 0.5, cy + r * 0.7, cup);
      cv::ellipse(img, P(cx, cy - r * 0.6), cv::Size(static_cast<int>(r * 0.5),
                                                     static_cast<int>(r * 0.15)),
                  0, 0, 360, ToScalar(Scale(cup, 0.5)), cv::FILLED, cv::LINE_AA);
      break;
    }
    default: {
      const Color petal = Vivid(rng);
      for (int i = 0; i < 6; ++i) {
        const double a = i * kPi / 3;
        cv::ellipse(img, P(cx + r * 0.45 * std::cos(a), cy + r * 0.45 * std::sin(a)),
                    cv::Size(static_cast<int>(r * 0.4), static_cast<int>(r * 0.2)),
                    a * 180 / kPi, 0, 360, ToScalar(petal), cv::FILLED, cv::LINE_AA);
      }
      cv::circle(img, P(cx, cy), static_cast<int>(r * 0.2), cv::Scalar(40, 200, 240), cv::FILLED,
                 cv::LINE_AA);
      break;
    }
  }
}

void Texture(Rng& rng, cv::Mat& img) {
  const double w = img.cols, h = img.rows;
  switch (rng.UniformInt(0, 3)) {
    case 0: {  // grass
      img.setTo(ToScalar(RandomHsv(rng, 70, 130, 0.5, 0.8, 0.25, 0.45)));
      const int blades = static_cast<int>(w * h / 20);
      for (int i = 0; i < blades; ++i) {
        const double x = rng.Uniform(0, w), y = rng.Uniform(0, h);
        const double len = rng.Uniform(0.02, 0.06) * h, lean = rng.Uniform(-0.4, 0.4);
        cv::line(img, P(x, y), P(x + lean * len, y - len),
                 ToScalar(RandomHsv(rng, 70, 130, 0.5, 0.9, 0.3, 0.7)), 1, cv::LINE_AA);
      }
      break;
    }
    case 1: {  // bricks
      const Color brick = RandomHsv(rng, 0, 30, 0.4, 0.8, 0.3, 0.7);
      const Color mortar = Jitter(rng, Color(180, 180, 175), 20);
      img.setTo(ToScalar(mortar));
      const double bh = rng.Uniform(0.05, 0.12) * h, bw = bh * rng.Uniform(2, 3);
      int row = 0;
      for (double y = 0; y < h; y += bh, ++row) {
        for (double x = (row % 2) * -bw / 2; x < w; x += bw) {
          FillRect(img, x + 1, y + 1, x + bw - 1, y + bh - 1, Jitter(rng, brick, 15));
        }
      }
      break;
    }
    case 2: {  // water
      const Color water = RandomHsv(rng, 180, 230, 0.3, 0.8, 0.3, 0.7);
      img.setTo(ToScalar(water));
      for (double y = 0; y < h; y += rng.Uniform(2, 6)) {
        const double phase = rng.Uniform(0, 2 * kPi), amp = rng.Uniform(1, 3);
        std::vector<cv::Point> wave;
        for (double x = 0; x <= w; x += 4) wave.push_back(P(x, y + amp * std::sin(x / 9 + phase)));
        cv::polylines(img, std::vector<std::vector<cv::Point>>{wave}, false,
                      ToScalar(Scale(water, rng.Uniform(0.8, 1.3))), 1, cv::LINE_AA);
      }
      break;
    }
    default: {  // asphalt or sand: grain
      const Color base = rng.Bernoulli(0.5) ? Jitter(rng, Color(90, 90, 90), 20)
                                            : Jitter(rng, Color(140, 190, 215), 20);
      img.setTo(ToScalar(base));
      const int grains = static_cast<int>(w * h / 6);
      for (int i = 0; i < grains; ++i) {
        const double x = rng.Uniform(0, w), y = rng.Uniform(0, h);
        img.at<cv::Vec3b>(static_cast<int>(y) % img.rows, static_cast<int>(x) % img.cols) =
            cv::Vec3b(Jitter(rng, base, 40));
      }
      break;
    }
  }
}

}  // namespace

cv::Mat RenderDistractor(const WorldOptions& options, const ImageRecord& record) {
  if (record.scene == SceneKind::kPlace) return cv::Mat();
  Rng rng(StreamSeed(options.seed, Stream::kDistractor, static_cast<uint64_t>(record.place),
                     PhotoKey(record)));
  cv::Mat img(record.capture.height, record.capture.width, CV_8UC3);
  switch (record.scene) {
    case SceneKind::kIndoor:
      Indoor(rng, img);
      break;
    case SceneKind::kSky:
      Sky(rng, img);
      break;
    case SceneKind::kCloseUp:
      CloseUp(rng, img);
      break;
    default:
      Texture(rng, img);
      break;
  }
  ApplyCamera(record.capture, rng, img);
  return img;
}

}  // namespace geoloc::synth
