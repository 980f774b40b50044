#include "tools/synth/scene.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "opencv2/imgproc.hpp"
#include "tools/synth/drawing.h"
#include "tools/synth/random.h"
#include "tools/synth/region_style.h"

namespace geoloc::synth {
namespace {

struct Structure {
  Kind kind;
  Roof roof;
  double x;       // centre, px
  double width;   // px
  double height;  // px
  double depth;   // 0 far .. 1 near
  Color body, roof_color;
};

// Draws scenes of one place; `u` converts style units (1/400 of the width) into pixels.
class SceneDrawer {
 public:
  SceneDrawer(const RegionStyle& style, cv::Mat& img, Rng& rng)
      : s_(style), img_(img), rng_(rng), w_(img.cols), h_(img.rows), u_(img.cols / 400.0) {}

  void Draw() {
    horizon_ = rng_.Uniform(s_.horizon_lo, s_.horizon_hi) * h_;
    sky_top_ = Jitter(rng_, s_.sky_top, 14);
    sky_bottom_ = Jitter(rng_, s_.sky_bottom, 14);
    ground_ = Jitter(rng_, s_.ground, 14);
    // Accent colours belong to this place alone: its landmark, an awning, a banner.
    accent_[0] = RandomHsv(rng_, 0, 360, 0.55, 1.0, 0.55, 1.0);
    accent_[1] = RandomHsv(rng_, 0, 360, 0.45, 1.0, 0.35, 0.95);
    DrawSky();
    if (s_.mountains) DrawMountains();
    DrawGround();
    DrawStructures();
    Shade();
  }

 private:
  void DrawSky() {
    const int horizon = static_cast<int>(horizon_);
    for (int y = 0; y < h_; ++y) {
      Color c;
      if (y < horizon) {
        c = Mix(sky_top_, sky_bottom_, static_cast<double>(y) / std::max(1, horizon));
      } else {
        // Aerial perspective: the far ground takes on the sky's colour.
        const double t = static_cast<double>(y - horizon) / std::max(1, h_ - horizon);
        c = Mix(Mix(ground_, sky_bottom_, 0.35), Scale(ground_, 0.85), t);
      }
      img_.row(y).setTo(ToScalar(c));
    }
    if (rng_.Bernoulli(s_.sun_probability)) {
      const double sun_x = rng_.Uniform(0.1, 0.9) * w_;
      const double sun_y = rng_.Uniform(0.06, 0.3) * horizon_;
      const cv::Point centre = P(sun_x, sun_y);
      const int radius = static_cast<int>(rng_.Uniform(8, 22) * u_);
      const Color sun = rng_.Bernoulli(0.5) ? Color(200, 245, 255) : Color(120, 190, 255);
      cv::circle(img_, centre, radius * 2, ToScalar(Mix(sky_bottom_, sun, 0.35)), cv::FILLED,
                 cv::LINE_AA);
      cv::circle(img_, centre, radius, ToScalar(sun), cv::FILLED, cv::LINE_AA);
    }
    const int clouds = rng_.UniformInt(0, 4);
    for (int i = 0; i < clouds; ++i) {
      const double cx = rng_.Uniform(0, w_), cy = rng_.Uniform(0.05, 0.7) * horizon_;
      const Color c = Mix(Mix(sky_top_, sky_bottom_, cy / horizon_), Color(250, 250, 250), 0.55);
      const int puffs = rng_.UniformInt(3, 5);
      const double size = rng_.Uniform(8, 20) * u_;
      for (int k = 0; k < puffs; ++k) {
        cv::ellipse(img_,
                    P(cx + (k - puffs / 2.0) * size * 0.9, cy + rng_.Uniform(-0.3, 0.3) * size),
                    cv::Size(static_cast<int>(size), static_cast<int>(size * 0.55)), 0, 0, 360,
                    ToScalar(c), cv::FILLED, cv::LINE_AA);
      }
    }
  }

  void DrawMountains() {
    for (int layer = 0; layer < 2; ++layer) {
      const Color c =
          Jitter(rng_, layer == 0 ? Mix(s_.mountain, sky_bottom_, 0.5) : s_.mountain, 8);
      const double max_rise = (layer == 0 ? 0.25 : 0.15) * horizon_;
      std::vector<cv::Point> pts{P(0, horizon_ + 1)};
      const int peaks = rng_.UniformInt(3, 7);
      for (int i = 0; i <= peaks * 2; ++i) {
        const double x = w_ * i / (peaks * 2.0);
        const double rise =
            (i % 2 == 1 ? rng_.Uniform(0.5, 1.0) : rng_.Uniform(0.1, 0.45)) * max_rise;
        pts.push_back(P(x, horizon_ - rise));
      }
      pts.push_back(P(w_, horizon_ + 1));
      FillPoly(img_, pts, c);
    }
  }

  void DrawGround() {
    const Color accent = Jitter(rng_, s_.ground_accent, 10);
    const double depth = h_ - horizon_;
    const double vanish_x = rng_.Uniform(0.25, 0.75) * w_;
    const double period = s_.ground_period * u_;
    switch (s_.ground_pattern) {
      case kFurrows:
      case kTiles: {
        // Rows that spread apart towards the viewer, as on a receding plane.
        const int rows = std::max(3, static_cast<int>(depth / period));
        for (int i = 1; i <= rows; ++i) {
          const double t = static_cast<double>(i) / rows;
          const double y = horizon_ + depth * t * t;
          cv::line(img_, P(0, y), P(w_, y), ToScalar(accent),
                   std::max(1, static_cast<int>(t * 3 * u_)), cv::LINE_AA);
        }
        if (s_.ground_pattern == kTiles) {
          for (double x = std::fmod(vanish_x, period * 3) - w_; x < 2 * w_; x += period * 3) {
            cv::line(img_, P(vanish_x + (x - vanish_x) * 0.1, horizon_), P(x, h_), ToScalar(accent),
                     std::max(1, static_cast<int>(u_)), cv::LINE_AA);
          }
        }
        break;
      }
      case kScatter: {
        const int blobs = rng_.UniformInt(15, 40);
        for (int i = 0; i < blobs; ++i) {
          const double t = rng_.Uniform(0.02, 1.0);
          const double size = (1 + t * 4) * period * 0.3;
          const double x = rng_.Uniform(0, w_);
          const Color c = Jitter(rng_, accent, 12);
          cv::ellipse(img_, P(x, horizon_ + depth * t),
                      cv::Size(static_cast<int>(size), static_cast<int>(size * 0.4) + 1), 0, 0, 360,
                      ToScalar(c), cv::FILLED, cv::LINE_AA);
        }
        break;
      }
      case kRoad:
      default: {
        const double half_near = rng_.Uniform(0.15, 0.3) * w_;
        const double near_x = rng_.Uniform(0.3, 0.7) * w_;
        const Color asphalt = Jitter(rng_, Mix(ground_, Color(90, 90, 90), 0.75), 8);
        FillPoly(img_,
                 {P(vanish_x - 2 * u_, horizon_), P(vanish_x + 2 * u_, horizon_),
                  P(near_x + half_near, h_), P(near_x - half_near, h_)},
                 asphalt);
        const int dashes = 6;
        for (int i = 0; i < dashes; ++i) {
          const double t0 = (i + 0.2) / dashes, t1 = (i + 0.6) / dashes;
          cv::line(img_, P(vanish_x + (near_x - vanish_x) * t0 * t0, horizon_ + depth * t0 * t0),
                   P(vanish_x + (near_x - vanish_x) * t1 * t1, horizon_ + depth * t1 * t1),
                   ToScalar(accent), std::max(1, static_cast<int>(t1 * 4 * u_)), cv::LINE_AA);
        }
        break;
      }
    }
  }

  void DrawStructures() {
    std::vector<Structure> items;
    const int n = rng_.UniformInt(s_.structures_lo, s_.structures_hi);
    const int landmark = rng_.UniformInt(0, n - 1);
    for (int i = 0; i < n; ++i) {
      Structure st;
      st.kind = static_cast<Kind>(PickWeighted(rng_, s_.kind_weights.data(), kNumKinds));
      st.roof = static_cast<Roof>(PickWeighted(rng_, s_.roof_weights.data(), kNumRoofs));
      st.x = rng_.Uniform(0.02, 0.98) * w_;
      st.width = rng_.Uniform(s_.width_lo, s_.width_hi) * w_;
      st.height = rng_.Uniform(s_.height_lo, s_.height_hi) * h_;
      st.depth = rng_.Uniform(0, 0.8);
      st.body = Jitter(rng_, s_.palette[rng_.UniformInt(0, 4)], 18);
      st.roof_color = Jitter(rng_, s_.roof, 18);
      if (i == landmark) {
        // The landmark: large, near, in the place's own colours.
        if (st.kind == kTree) st.kind = kBlock;
        st.width *= 1.5;
        st.height *= 1.3;
        st.depth = rng_.Uniform(0.7, 1.0);
        st.body = accent_[0];
        st.roof_color = accent_[1];
      }
      items.push_back(st);
    }
    const int trees = rng_.UniformInt(s_.trees_lo, s_.trees_hi);
    for (int i = 0; i < trees; ++i) {
      Structure st{kTree,
                   kFlat,
                   rng_.Uniform(0, 1) * w_,
                   rng_.Uniform(s_.width_lo, s_.width_hi) * w_,
                   rng_.Uniform(s_.height_lo, s_.height_hi) * h_ * 0.8,
                   rng_.Uniform(0.3, 1.0),
                   Jitter(rng_, s_.foliage, 20),
                   Color()};
      items.push_back(st);
    }
    // Far first, so that nearer structures occlude them; stable for equal depths.
    std::stable_sort(items.begin(), items.end(),
                     [](const Structure& a, const Structure& b) { return a.depth < b.depth; });
    for (const Structure& st : items) DrawStructure(st);
  }

  void DrawStructure(const Structure& st) {
    const double scale = 0.75 + 0.5 * st.depth;
    const double base = horizon_ + st.depth * 0.22 * (h_ - horizon_);
    const double max_height = base - 0.04 * h_;
    double w = st.width * scale, h = std::min(st.height * scale, max_height);
    const double cx = st.x;
    switch (st.kind) {
      case kBlock:
        Building(cx, base, w, h, st.body, st.roof, st.roof_color, /*columns=*/0);
        break;
      case kTower: {
        w *= 0.45;
        h = std::min(h * 1.7, max_height);
        const Roof roof = (st.roof == kDome || st.roof == kSpire) ? st.roof : kSpire;
        Building(cx, base, w, h, st.body, roof, st.roof_color, /*columns=*/1);
        break;
      }
      case kHouse: {
        w *= 0.8;
        h *= 0.45;
        Building(cx, base, w, h, st.body, kGable, st.roof_color, /*columns=*/2);
        FillRect(img_, cx - w * 0.1, base - h * 0.45, cx + w * 0.1, base, Scale(st.body, 0.35));
        break;
      }
      case kDomeHall: {
        w *= 1.3;
        h *= 0.5;
        FillRect(img_, cx - w / 2, base - h, cx + w / 2, base, st.body);
        const int columns = 5 + rng_.UniformInt(0, 3);
        for (int i = 0; i <= columns; ++i) {
          const double x = cx - w / 2 + w * (i + 0.5) / (columns + 1);
          FillRect(img_, x - w * 0.015, base - h * 0.85, x + w * 0.015, base, Scale(st.body, 0.7));
        }
        cv::ellipse(img_, P(cx, base - h),
                    cv::Size(static_cast<int>(w * 0.35), static_cast<int>(w * 0.3)), 0, 180, 360,
                    ToScalar(st.roof_color), cv::FILLED, cv::LINE_AA);
        cv::line(img_, P(cx, base - h - w * 0.3), P(cx, base - h - w * 0.4),
                 ToScalar(Scale(st.roof_color, 0.6)), std::max(1, static_cast<int>(2 * u_)),
                 cv::LINE_AA);
        break;
      }
      case kArch: {
        w *= 1.1;
        h *= 0.7;
        FillRect(img_, cx - w / 2, base - h, cx + w / 2, base, st.body);
        Stripes(cx - w / 2, base - h, cx + w / 2, base, st.body);
        const double ow = w * 0.28, oh = h * 0.55;
        const Color shadow = Scale(st.body, 0.3);
        FillRect(img_, cx - ow, base - oh, cx + ow, base, shadow);
        cv::ellipse(img_, P(cx, base - oh),
                    cv::Size(static_cast<int>(ow), static_cast<int>(ow * 0.8)), 0, 180, 360,
                    ToScalar(shadow), cv::FILLED, cv::LINE_AA);
        FillRect(img_, cx - w * 0.55, base - h - h * 0.06, cx + w * 0.55, base - h,
                 Scale(st.body, 0.75));
        break;
      }
      case kPagoda: {
        const int tiers = 3 + rng_.UniformInt(0, 2);
        double y = base;
        for (int i = 0; i < tiers; ++i) {
          const double tw = w * (1.0 - 0.18 * i), th = h / tiers;
          FillRect(img_, cx - tw / 2, y - th, cx + tw / 2, y, st.body);
          Windows(cx - tw / 2, y - th * 0.85, cx + tw / 2, y - th * 0.1, 0);
          FillPoly(img_,
                   {P(cx - tw * 0.65, y - th * 0.85), P(cx + tw * 0.65, y - th * 0.85),
                    P(cx + tw * 0.45, y - th * 1.05), P(cx - tw * 0.45, y - th * 1.05)},
                   st.roof_color);
          y -= th;
        }
        break;
      }
      case kTree:
      default: {
        h *= 0.8;
        const Color trunk = Jitter(rng_, Color(40, 60, 90), 10);
        FillRect(img_, cx - w * 0.05, base - h * 0.45, cx + w * 0.05, base, trunk);
        if (s_.conifers) {
          for (int i = 0; i < 3; ++i) {
            const double y0 = base - h * (0.25 + 0.22 * i), half = w * (0.5 - 0.1 * i);
            FillPoly(img_, {P(cx - half, y0), P(cx + half, y0), P(cx, y0 - h * 0.4)},
                     Scale(st.body, 1.0 - 0.08 * i));
          }
        } else {
          const int r = static_cast<int>(std::max(2.0, std::min(w * 0.5, h * 0.35)));
          cv::circle(img_, P(cx, base - h * 0.65), r, ToScalar(st.body), cv::FILLED, cv::LINE_AA);
          cv::circle(img_, P(cx + r * 0.3, base - h * 0.6), r / 2, ToScalar(Scale(st.body, 0.8)),
                     cv::FILLED, cv::LINE_AA);
        }
        break;
      }
    }
  }

  // A rectangular body with facade stripes, windows and a roof; `columns` = 1 gives a single
  // column of windows, 2 a pair, 0 a full grid.
  void Building(double cx, double base, double w, double h, const Color& body, Roof roof,
                const Color& roof_color, int columns) {
    const double x0 = cx - w / 2, x1 = cx + w / 2, top = base - h;
    FillRect(img_, x0, top, x1, base, body);
    Stripes(x0, top, x1, base, body);
    Windows(x0, top, x1, base - h * 0.08, columns);
    const double rh = std::min(w, h) * 0.35;
    switch (roof) {
      case kFlat:
        FillRect(img_, x0 - w * 0.04, top - h * 0.04, x1 + w * 0.04, top, Scale(body, 0.7));
        break;
      case kGable:
        FillPoly(img_, {P(x0 - w * 0.06, top), P(x1 + w * 0.06, top), P(cx, top - rh)}, roof_color);
        break;
      case kDome:
        cv::ellipse(img_, P(cx, top), cv::Size(static_cast<int>(w * 0.42), static_cast<int>(rh)), 0,
                    180, 360, ToScalar(roof_color), cv::FILLED, cv::LINE_AA);
        break;
      case kSpire:
        FillPoly(img_, {P(cx - w * 0.2, top), P(cx + w * 0.2, top), P(cx, top - rh * 2.2)},
                 roof_color);
        break;
      case kStepped:
      default:
        FillRect(img_, cx - w * 0.35, top - rh * 0.4, cx + w * 0.35, top, Scale(body, 0.85));
        FillRect(img_, cx - w * 0.18, top - rh * 0.8, cx + w * 0.18, top - rh * 0.4, roof_color);
        break;
    }
  }

  void Stripes(double x0, double y0, double x1, double y1, const Color& body) {
    if (s_.stripe_contrast <= 0) return;
    const double period = s_.stripe_period * u_;
    const Color c = Scale(body, 1.0 - s_.stripe_contrast);
    const int thickness = std::max(1, static_cast<int>(period / 3));
    for (double y = y0 + period; y < y1; y += period) {
      cv::line(img_, P(x0, y), P(x1, y), ToScalar(c), thickness, cv::LINE_8);
    }
  }

  void Windows(double x0, double y0, double x1, double y1, int columns) {
    const double px = s_.window_period * u_;
    const double py = px * (0.5 + 0.6 * s_.window_aspect);
    const double ww = px * s_.window_fill, wh = ww * s_.window_aspect;
    if (x1 - x0 < 2 * px || y1 - y0 < 2 * py) return;
    int cols = static_cast<int>((x1 - x0 - px * 0.5) / px);
    if (columns > 0) cols = std::min(cols, columns);
    const double start_x = (x0 + x1) / 2 - (cols - 1) * px / 2;
    const cv::Scalar colour = ToScalar(s_.window);
    for (double y = y0 + py * 0.6; y + wh < y1; y += py) {
      for (int i = 0; i < cols; ++i) {
        const double x = start_x + i * px;
        switch (s_.window_shape) {
          case 0:
            FillRect(img_, x - ww / 2, y, x + ww / 2, y + wh, s_.window);
            break;
          case 1:
            FillRect(img_, x - ww / 2, y + ww / 2, x + ww / 2, y + wh, s_.window);
            cv::circle(img_, P(x, y + ww / 2), static_cast<int>(ww / 2), colour, cv::FILLED,
                       cv::LINE_8);
            break;
          default:
            cv::circle(img_, P(x, y + wh / 2), static_cast<int>(std::max(1.0, ww / 2)), colour,
                       cv::FILLED, cv::LINE_8);
            break;
        }
      }
    }
  }

  // Low-frequency lighting (a cloud shadow, a sunlit side): multiplies the scene by a smooth map.
  void Shade() {
    cv::Mat coarse(3, 4, CV_32F);
    for (int y = 0; y < coarse.rows; ++y) {
      for (int x = 0; x < coarse.cols; ++x) {
        coarse.at<float>(y, x) = static_cast<float>(1.0 + rng_.Uniform(-s_.shading, s_.shading));
      }
    }
    cv::Mat gain;
    cv::resize(coarse, gain, img_.size(), 0, 0, cv::INTER_CUBIC);
    ApplyGain(img_, gain);
  }

  const RegionStyle& s_;
  cv::Mat& img_;
  Rng& rng_;
  const int w_, h_;
  const double u_;
  double horizon_ = 0;
  Color sky_top_, sky_bottom_, ground_;
  std::array<Color, 2> accent_;
};

}  // namespace

cv::Size SceneSize(const WorldOptions& options) {
  return cv::Size((options.image_width * 5 + 2) / 4, (options.image_height * 5 + 2) / 4);
}

cv::Mat RenderScene(const WorldOptions& options, int region, int64_t place) {
  const RegionStyle style = MakeRegionStyle(options.seed, region);
  cv::Mat scene(SceneSize(options), CV_8UC3);
  Rng rng(StreamSeed(options.seed, Stream::kPlaceScene, static_cast<uint64_t>(place)));
  SceneDrawer(style, scene, rng).Draw();
  return scene;
}

cv::Mat RenderViewOfScene(const cv::Mat& scene, const WorldOptions& options, int64_t place,
                          int view) {
  Rng rng(StreamSeed(options.seed, Stream::kView, static_cast<uint64_t>(place),
                     static_cast<uint64_t>(view)));
  const double sw = scene.cols, sh = scene.rows;
  const double ow = options.image_width, oh = options.image_height;

  // Geometry: a crop of 75-100% of the scene, rotated by up to 5 degrees, shrunk if needed so
  // that the rotated crop stays inside the scene (no invented border pixels).
  const double angle = rng.Uniform(-5.0, 5.0) * kPi / 180.0;
  const double ca = std::cos(angle), sa = std::sin(angle);
  const double fit = std::min(sw / (sw * std::fabs(ca) + sh * std::fabs(sa)),
                              sh / (sw * std::fabs(sa) + sh * std::fabs(ca)));
  const double scale = std::min(rng.Uniform(0.75, 1.0), fit);
  const double cw = scale * sw, ch = scale * sh;
  const double ex = (cw * std::fabs(ca) + ch * std::fabs(sa)) / 2;
  const double ey = (cw * std::fabs(sa) + ch * std::fabs(ca)) / 2;
  const double cx = rng.Uniform(ex, std::max(ex, sw - ex));
  const double cy = rng.Uniform(ey, std::max(ey, sh - ey));
  // Maps an output pixel centre to the scene: scale, rotate about the crop centre, translate.
  const double kx = cw / ow, ky = ch / oh;
  const double dx = 0.5 - ow / 2, dy = 0.5 - oh / 2;
  cv::Matx23d m(ca * kx, -sa * ky, cx - 0.5 + ca * kx * dx - sa * ky * dy,  //
                sa * kx, ca * ky, cy - 0.5 + sa * kx * dx + ca * ky * dy);
  cv::Mat photo;
  cv::warpAffine(scene, photo, m, cv::Size(options.image_width, options.image_height),
                 cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT101);

  // Photometry: contrast, brightness and a per-channel gain (white balance) through one LUT.
  const double contrast = rng.Uniform(0.8, 1.2);
  const double brightness = rng.Uniform(-18, 18);
  double gain[3];
  for (double& g : gain) g = rng.Uniform(0.92, 1.08);
  cv::Mat lut(1, 256, CV_8UC3);
  for (int i = 0; i < 256; ++i) {
    for (int c = 0; c < 3; ++c) {
      lut.at<cv::Vec3b>(0, i)[c] =
          cv::saturate_cast<uint8_t>(((i - 128) * contrast + 128 + brightness) * gain[c]);
    }
  }
  cv::LUT(photo, lut, photo);

  // Optics: slight defocus.
  const double sigma = rng.Uniform(0.0, 1.1);
  if (sigma >= 0.3) cv::GaussianBlur(photo, photo, cv::Size(0, 0), sigma);

  // Sensor noise from the view's own stream.
  const double noise = rng.Uniform(1.5, 5.0);
  Rng noise_rng(StreamSeed(options.seed, Stream::kViewNoise, static_cast<uint64_t>(place),
                           static_cast<uint64_t>(view)));
  AddSensorNoise(photo, noise, noise_rng);
  return photo;
}

}  // namespace geoloc::synth
