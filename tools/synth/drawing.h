// Colour arithmetic and filled shapes shared by the synthetic world's renderers (scene.cc for the
// fixed world, planet_scene.cc, photo.cc and distractors.cc for the planet).
//
//   Color wall = RandomHsv(rng, 20, 40, 0.3, 0.5, 0.6, 0.8);
//   FillRect(img, 10, 20, 60, 90, Scale(wall, 0.8));
//
// Every random draw is its own statement (argument evaluation order is unspecified in C++), so the
// same stream gives the same pixels with any compiler. Pure functions; thread-safe.
#ifndef GEOLOC_TOOLS_SYNTH_DRAWING_H_
#define GEOLOC_TOOLS_SYNTH_DRAWING_H_

#include <vector>

#include "opencv2/core.hpp"
#include "tools/synth/random.h"

namespace geoloc::synth {

inline constexpr double kPi = 3.14159265358979323846;

using Color = cv::Vec3f;  // BGR, each channel in [0, 255]

cv::Scalar ToScalar(const Color& c);
Color Clamp(Color c);
Color Mix(const Color& a, const Color& b, double t);  // (1 - t) a + t b
Color Scale(const Color& c, double f);
Color Jitter(Rng& rng, const Color& c, double amount);  // each channel +- amount
// h in degrees, s and v in [0, 1].
Color Hsv(double h, double s, double v);
// Draws hue, saturation and value in that order.
Color RandomHsv(Rng& rng, double h_lo, double h_hi, double s_lo, double s_hi, double v_lo,
                double v_hi);
// An index in [0, n) with probability proportional to weights[i].
int PickWeighted(Rng& rng, const double* weights, int n);

cv::Point P(double x, double y);  // rounded to the nearest pixel
void FillRect(cv::Mat& img, double x0, double y0, double x1, double y1, const Color& c);
void FillPoly(cv::Mat& img, const std::vector<cv::Point>& pts, const Color& c);

// Multiplies each pixel of a BGR image by the CV_32F gain of its position (same size), saturating.
void ApplyGain(cv::Mat& img, const cv::Mat& gain);

// Near-Gaussian sensor noise of standard deviation `sigma` (grey levels) on a BGR image, in place:
// the sum of four uniform bytes from `rng` (std 147.8) through a table of rounded offsets, so the
// per-pixel work is integer only.
void AddSensorNoise(cv::Mat& img, double sigma, Rng& rng);

}  // namespace geoloc::synth

#endif  // GEOLOC_TOOLS_SYNTH_DRAWING_H_
