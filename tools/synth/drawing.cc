#include "tools/synth/drawing.h"

#include <algorithm>
#include <cmath>

#include "opencv2/imgproc.hpp"

namespace geoloc::synth {

cv::Scalar ToScalar(const Color& c) { return cv::Scalar(c[0], c[1], c[2]); }

Color Clamp(Color c) {
  for (int i = 0; i < 3; ++i) c[i] = std::clamp(c[i], 0.0f, 255.0f);
  return c;
}

Color Mix(const Color& a, const Color& b, double t) {
  return Clamp(a * static_cast<float>(1.0 - t) + b * static_cast<float>(t));
}

Color Scale(const Color& c, double f) { return Clamp(c * static_cast<float>(f)); }

Color Jitter(Rng& rng, const Color& c, double amount) {
  Color out = c;
  for (int i = 0; i < 3; ++i) out[i] += static_cast<float>(rng.Uniform(-amount, amount));
  return Clamp(out);
}

Color Hsv(double h, double s, double v) {
  h = std::fmod(h, 360.0);
  if (h < 0) h += 360.0;
  s = std::clamp(s, 0.0, 1.0);
  v = std::clamp(v, 0.0, 1.0);
  const double c = v * s;
  const double x = c * (1.0 - std::fabs(std::fmod(h / 60.0, 2.0) - 1.0));
  const double m = v - c;
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(h / 60.0)) {
    case 0:
      r = c, g = x;
      break;
    case 1:
      r = x, g = c;
      break;
    case 2:
      g = c, b = x;
      break;
    case 3:
      g = x, b = c;
      break;
    case 4:
      r = x, b = c;
      break;
    default:
      r = c, b = x;
      break;
  }
  return Color(static_cast<float>((b + m) * 255), static_cast<float>((g + m) * 255),
               static_cast<float>((r + m) * 255));
}

Color RandomHsv(Rng& rng, double h_lo, double h_hi, double s_lo, double s_hi, double v_lo,
                double v_hi) {
  const double h = rng.Uniform(h_lo, h_hi);
  const double s = rng.Uniform(s_lo, s_hi);
  const double v = rng.Uniform(v_lo, v_hi);
  return Hsv(h, s, v);
}

int PickWeighted(Rng& rng, const double* weights, int n) {
  double total = 0;
  for (int i = 0; i < n; ++i) total += weights[i];
  double x = rng.Uniform(0, total);
  for (int i = 0; i < n; ++i) {
    if (x < weights[i]) return i;
    x -= weights[i];
  }
  return n - 1;
}

cv::Point P(double x, double y) {
  return cv::Point(static_cast<int>(std::lround(x)), static_cast<int>(std::lround(y)));
}

void FillRect(cv::Mat& img, double x0, double y0, double x1, double y1, const Color& c) {
  cv::rectangle(img, P(x0, y0), P(x1, y1), ToScalar(c), cv::FILLED, cv::LINE_8);
}

void FillPoly(cv::Mat& img, const std::vector<cv::Point>& pts, const Color& c) {
  cv::fillPoly(img, std::vector<std::vector<cv::Point>>{pts}, ToScalar(c), cv::LINE_AA);
}

void ApplyGain(cv::Mat& img, const cv::Mat& gain) {
  for (int y = 0; y < img.rows; ++y) {
    uint8_t* row = img.ptr<uint8_t>(y);
    const float* g = gain.ptr<float>(y);
    for (int x = 0; x < img.cols; ++x) {
      for (int c = 0; c < 3; ++c) {
        row[3 * x + c] = cv::saturate_cast<uint8_t>(row[3 * x + c] * g[x]);
      }
    }
  }
}

void AddSensorNoise(cv::Mat& img, double sigma, Rng& rng) {
  const double scale = sigma / 147.8;
  int offsets[4 * 255 + 1];
  for (int sum = 0; sum <= 4 * 255; ++sum) {
    offsets[sum] = static_cast<int>(std::floor((sum - 510) * scale + 0.5));
  }
  for (int y = 0; y < img.rows; ++y) {
    uint8_t* row = img.ptr<uint8_t>(y);
    const int n = img.cols * 3;
    for (int i = 0; i < n; i += 2) {
      const uint64_t r = rng.Next();
      for (int k = 0; k < 2 && i + k < n; ++k) {
        const uint32_t word = static_cast<uint32_t>(r >> (32 * k));
        const uint32_t pairs = (word & 0x00ff00ffu) + ((word >> 8) & 0x00ff00ffu);
        const int sum = static_cast<int>((pairs & 0xffffu) + (pairs >> 16));
        row[i + k] = static_cast<uint8_t>(std::clamp(row[i + k] + offsets[sum], 0, 255));
      }
    }
  }
}

}  // namespace geoloc::synth
