#include "tools/synth/photo.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "opencv2/imgproc.hpp"
#include "tools/synth/drawing.h"
#include "tools/synth/geography.h"

namespace geoloc::synth {
namespace {

constexpr double kDegToRad = kPi / 180.0;

// Columns [x0, x0 + width) of `layer`, modulo its width (the panorama wraps around 360 degrees).
cv::Mat WrappedStrip(const cv::Mat& layer, int x0, int width) {
  cv::Mat strip(layer.rows, width, layer.type());
  const int w = layer.cols;
  int done = 0;
  while (done < width) {
    const int src = ((x0 + done) % w + w) % w;
    const int n = std::min(width - done, w - src);
    layer.colRange(src, src + n).copyTo(strip.colRange(done, done + n));
    done += n;
  }
  return strip;
}

struct View {
  cv::Matx23d map;  // output pixel -> strip pixel (inverse map)
  int strip_x0 = 0, strip_width = 0;
};

View PlanView(const WorldOptions& options, const World& world, const Panorama& pano,
              const ImageRecord& r) {
  const Capture& c = r.capture;
  const Place& place = world.places[static_cast<size_t>(r.place)];
  const double pw = pano.color.cols, ph = pano.color.rows;
  const double out_w = c.width, out_h = c.height;
  const double long_side = std::max(out_w, out_h);
  // Panorama pixels per output pixel.
  double k = c.fov_deg / 360.0 * pw / long_side;
  // The camera's offset from the place: across the view it shifts, along it it zooms.
  const double north_m = (r.true_lat - place.lat) * kDegToRad * kEarthRadiusKm * 1000;
  double dlon = r.true_lon - place.lon;
  if (dlon > 180) dlon -= 360;
  if (dlon < -180) dlon += 360;
  const double east_m = dlon * kDegToRad * kEarthRadiusKm * 1000 * std::cos(place.lat * kDegToRad);
  const double h = c.heading_deg * kDegToRad;
  const double across_m = east_m * std::cos(h) - north_m * std::sin(h);
  const double along_m = east_m * std::sin(h) + north_m * std::cos(h);
  k *= std::clamp(1.0 - along_m / 200.0, 0.85, 1.15);
  k = std::min(k, 0.95 * ph / out_h);  // a tall frame cannot see above the panorama
  const double half_h = out_h * k / 2;
  const double cx = c.heading_deg / 360.0 * pw + across_m * 0.6 * pw / 1600.0;
  const double cy =
      std::clamp(pano.horizon - out_h * k * (0.12 + c.pitch), half_h, ph - half_h);
  const double angle = c.roll_deg * kDegToRad;
  const double ca = std::cos(angle), sa = std::sin(angle);
  const double reach = std::hypot(out_w, out_h) * k / 2 + 4;
  View v;
  v.strip_x0 = static_cast<int>(std::floor(cx - reach));
  v.strip_width = static_cast<int>(std::ceil(2 * reach)) + 2;
  const double sx = cx - v.strip_x0;
  const double dx = 0.5 - out_w / 2, dy = 0.5 - out_h / 2;
  v.map = cv::Matx23d(ca * k, -sa * k, sx - 0.5 + ca * k * dx - sa * k * dy,  //
                      sa * k, ca * k, cy - 0.5 + sa * k * dx + ca * k * dy);
  return v;
}

cv::Mat Warp(const cv::Mat& layer, const View& v, const cv::Size& size, int interpolation) {
  const cv::Mat strip = WrappedStrip(layer, v.strip_x0, v.strip_width);
  cv::Mat out;
  cv::warpAffine(strip, out, v.map, size, interpolation | cv::WARP_INVERSE_MAP,
                 cv::BORDER_REFLECT101);
  return out;
}

// Vehicles and people in front of the scene; they also mark the depth layer as near.
void DrawOccluders(Rng& rng, int count, const CityLook& city, cv::Mat& img, cv::Mat& depth) {
  const double w = img.cols, h = img.rows;
  static const Color kCars[] = {{200, 200, 200}, {40, 40, 40},   {30, 30, 160}, {150, 90, 30},
                                {235, 235, 235}, {100, 110, 120}, {40, 110, 40}};
  static const Color kSkins[] = {{140, 170, 220}, {100, 140, 190}, {60, 90, 140}, {40, 60, 90}};
  for (int i = 0; i < count; ++i) {
    const bool car = rng.Bernoulli(0.6);
    const double x = rng.Uniform(0, w);
    const double bottom = h * rng.Uniform(0.88, 1.05);
    if (car) {
      const double cw = w * rng.Uniform(0.25, 0.5), ch = cw * 0.42;
      const bool taxi = rng.Bernoulli(0.3);
      const Color body = taxi ? city.taxi : Jitter(rng, kCars[rng.UniformInt(0, 6)], 15);
      const std::vector<cv::Point> cabin = {P(x - cw * 0.3, bottom - ch * 0.55),
                                            P(x + cw * 0.25, bottom - ch * 0.55),
                                            P(x + cw * 0.15, bottom - ch),
                                            P(x - cw * 0.2, bottom - ch)};
      FillPoly(img, cabin, Scale(body, 0.9));
      FillPoly(img, {P(x - cw * 0.24, bottom - ch * 0.58), P(x + cw * 0.19, bottom - ch * 0.58),
                     P(x + cw * 0.11, bottom - ch * 0.93), P(x - cw * 0.15, bottom - ch * 0.93)},
               Color(60, 50, 40));
      FillRect(img, x - cw / 2, bottom - ch * 0.55, x + cw / 2, bottom - ch * 0.15, body);
      for (double side : {-0.3, 0.3}) {
        cv::circle(img, P(x + side * cw, bottom - ch * 0.15), std::max(1, static_cast<int>(ch * 0.18)),
                   cv::Scalar(20, 20, 20), cv::FILLED, cv::LINE_AA);
      }
      cv::rectangle(depth, P(x - cw / 2, bottom - ch), P(x + cw / 2, bottom), cv::Scalar(0),
                    cv::FILLED);
    } else {
      const double ph = h * rng.Uniform(0.3, 0.7), pw = ph * 0.28;
      const Color clothes = RandomHsv(rng, 0, 360, 0.2, 0.9, 0.2, 0.9);
      const Color legs = RandomHsv(rng, 200, 240, 0.1, 0.6, 0.1, 0.5);
      const Color skin = kSkins[rng.UniformInt(0, 3)];
      FillRect(img, x - pw * 0.35, bottom - ph * 0.45, x + pw * 0.35, bottom, legs);
      FillRect(img, x - pw / 2, bottom - ph * 0.82, x + pw / 2, bottom - ph * 0.42, clothes);
      cv::circle(img, P(x, bottom - ph * 0.9), std::max(1, static_cast<int>(pw * 0.3)),
                 ToScalar(skin), cv::FILLED, cv::LINE_AA);
      cv::rectangle(depth, P(x - pw / 2, bottom - ph), P(x + pw / 2, bottom), cv::Scalar(0),
                    cv::FILLED);
    }
  }
}

// img: CV_32FC3 in [0, 255]; mask CV_8U; colour mixed in where mask * amount.
void MixTowards(cv::Mat& img, const cv::Mat& mask, const Color& target, double amount) {
  for (int y = 0; y < img.rows; ++y) {
    cv::Vec3f* row = img.ptr<cv::Vec3f>(y);
    const uint8_t* m = mask.ptr<uint8_t>(y);
    for (int x = 0; x < img.cols; ++x) {
      if (m[x] == 0) continue;
      const float t = static_cast<float>(amount * m[x] / 255.0);
      row[x] = row[x] * (1 - t) + target * t;
    }
  }
}

void Desaturate(cv::Mat& img, double amount, double contrast) {
  for (int y = 0; y < img.rows; ++y) {
    cv::Vec3f* row = img.ptr<cv::Vec3f>(y);
    for (int x = 0; x < img.cols; ++x) {
      const float grey = 0.114f * row[x][0] + 0.587f * row[x][1] + 0.299f * row[x][2];
      cv::Vec3f v = row[x] * static_cast<float>(1 - amount) + cv::Vec3f(grey, grey, grey) *
                                                                  static_cast<float>(amount);
      row[x] = (v - cv::Vec3f(128, 128, 128)) * static_cast<float>(contrast) +
               cv::Vec3f(128, 128, 128);
    }
  }
}

cv::Mat SkyMask(const cv::Mat& depth) {
  cv::Mat sky;
  cv::compare(depth, 252, sky, cv::CMP_GE);
  return sky;
}

void ApplySeason(const Capture& c, Rng& rng, const cv::Mat& foliage, const cv::Mat& snow,
            cv::Mat& img) {
  switch (c.season) {
    case Season::kSpring:
      MixTowards(img, foliage, Hsv(rng.Uniform(75, 95), 0.5, 0.75), 0.45);
      break;
    case Season::kAutumn:
      MixTowards(img, foliage, Hsv(rng.Uniform(12, 42), 0.8, 0.65), 0.7);
      break;
    case Season::kWinter:
      MixTowards(img, foliage, Color(70, 80, 95), 0.75);  // bare branches
      break;
    default:
      break;
  }
  if (c.snow) MixTowards(img, snow, Color(240, 242, 245), rng.Uniform(0.65, 0.9));
}

void ApplyWeather(const Capture& c, Rng& rng, const cv::Mat& depth, cv::Mat& img) {
  if (c.weather == Weather::kClear) return;
  const cv::Mat sky = SkyMask(depth);
  if (c.weather == Weather::kFog) {
    const double density = rng.Uniform(1.2, 3.0);
    const Color fog = Jitter(rng, Color(200, 200, 195), 10);
    for (int y = 0; y < img.rows; ++y) {
      cv::Vec3f* row = img.ptr<cv::Vec3f>(y);
      const uint8_t* d = depth.ptr<uint8_t>(y);
      for (int x = 0; x < img.cols; ++x) {
        const double distance = d[x] >= 252 ? 1.5 : d[x] / 250.0;
        const float t = static_cast<float>(1 - std::exp(-density * distance));
        row[x] = row[x] * (1 - t) + fog * t;
      }
    }
    return;
  }
  // Overcast and rain: a grey sky and flat light.
  MixTowards(img, sky, Jitter(rng, Color(180, 180, 175), 12), 0.8);
  Desaturate(img, 0.4, 0.85);
  if (c.weather == Weather::kRain) {
    img *= rng.Uniform(0.7, 0.85);
    const int streaks = img.cols * img.rows / 400;
    const double slant = rng.Uniform(-0.3, 0.3);
    for (int i = 0; i < streaks; ++i) {
      const double x = rng.Uniform(0, img.cols), y = rng.Uniform(0, img.rows);
      const double len = rng.Uniform(0.03, 0.08) * img.rows;
      cv::line(img, P(x, y), P(x + slant * len, y + len), cv::Scalar(200, 200, 200), 1,
               cv::LINE_AA);
    }
    cv::GaussianBlur(img, img, cv::Size(0, 0), 0.8);
  }
}

void ApplyTimeOfDay(const Capture& c, Rng& rng, const cv::Mat& depth, const cv::Mat& emission,
               cv::Mat& img) {
  if (c.time == TimeOfDay::kDay) return;
  const cv::Mat sky = SkyMask(depth);
  cv::Mat light;
  emission.convertTo(light, CV_32FC3);
  cv::Mat glow;
  const double spread = std::max(1.5, img.cols / 80.0);
  cv::GaussianBlur(light, glow, cv::Size(0, 0), spread);
  if (c.time == TimeOfDay::kDusk) {
    const Color warm(0.72f, 0.82f, 1.0f);
    const Color top = Jitter(rng, Color(110, 60, 90), 15), bottom = Jitter(rng, Color(80, 150, 250), 15);
    for (int y = 0; y < img.rows; ++y) {
      cv::Vec3f* row = img.ptr<cv::Vec3f>(y);
      const uint8_t* s = sky.ptr<uint8_t>(y);
      const Color sky_colour = Mix(top, bottom, static_cast<double>(y) / img.rows);
      for (int x = 0; x < img.cols; ++x) {
        row[x] = s[x] ? row[x] * 0.3f + sky_colour * 0.7f : row[x].mul(warm) * 0.7f;
      }
    }
    img += light * 0.25 + glow * 0.3;
    return;
  }
  // Night: a dark blue world lit by its own lights.
  const double level = rng.Uniform(0.14, 0.28);
  const Color night_sky = Jitter(rng, Color(40, 18, 10), 6);
  for (int y = 0; y < img.rows; ++y) {
    cv::Vec3f* row = img.ptr<cv::Vec3f>(y);
    const uint8_t* s = sky.ptr<uint8_t>(y);
    for (int x = 0; x < img.cols; ++x) {
      row[x] = s[x] ? night_sky : row[x].mul(cv::Vec3f(1.3f, 1.0f, 0.8f)) * static_cast<float>(level);
    }
  }
  img += light * 0.85 + glow * 0.9;
}

}  // namespace

uint64_t PhotoKey(const ImageRecord& record) {
  return (static_cast<uint64_t>(record.split) << 32) | static_cast<uint32_t>(record.view);
}

void ApplyCamera(const Capture& capture, Rng& rng, cv::Mat& image) {
  if (capture.blur_sigma >= 0.3) {
    cv::GaussianBlur(image, image, cv::Size(0, 0), capture.blur_sigma);
  }
  AddSensorNoise(image, capture.noise_sigma, rng);
}

cv::Mat TakePhoto(const WorldOptions& options, const World& world, const Panorama& pano,
                  const ImageRecord& record) {
  const Capture& c = record.capture;
  Rng rng(StreamSeed(options.seed, Stream::kPhoto, static_cast<uint64_t>(record.place),
                     PhotoKey(record)));
  const cv::Size size(c.width, c.height);
  const View view = PlanView(options, world, pano, record);
  cv::Mat colour = Warp(pano.color, view, size, cv::INTER_LINEAR);
  cv::Mat depth = Warp(pano.depth, view, size, cv::INTER_NEAREST);
  const CityLook city = MakeCityLook(options.seed, record.city);
  DrawOccluders(rng, c.occluders, city, colour, depth);
  cv::Mat img;
  colour.convertTo(img, CV_32FC3);
  if (c.season != Season::kNone || c.snow) {
    const cv::Mat foliage = Warp(pano.foliage, view, size, cv::INTER_LINEAR);
    cv::Mat snow = Warp(pano.snow, view, size, cv::INTER_LINEAR);
    snow.setTo(0, depth == 0);  // nothing settles on the occluders in front
    ApplySeason(c, rng, foliage, snow, img);
  }
  ApplyWeather(c, rng, depth, img);
  if (c.time != TimeOfDay::kDay) {
    cv::Mat emission = Warp(pano.emission, view, size, cv::INTER_LINEAR);
    emission.setTo(cv::Scalar::all(0), depth == 0);  // the occluders hide what glows behind
    ApplyTimeOfDay(c, rng, depth, emission, img);
  }
  cv::Mat photo;
  img.convertTo(photo, CV_8UC3);
  ApplyCamera(c, rng, photo);
  return photo;
}

}  // namespace geoloc::synth
