// Maximum-likelihood weights of a mixture of fixed densities, by expectation-maximisation: how much
// of the predictive density goes to the answer's own KDE, to its broad kernel, to the classifier
// and to the uniform floor (predictive_density.h), fitted offline on held-out photos.
//
//   // log_density[i * components + c] = log f_c(truth of photo i)
//   GEOLOC_ASSIGN_OR_RETURN(MixtureFit fit, FitMixtureWeights(log_density, components));
//
// Given log f_c(y_i) of every component c at every photo's true place y_i, it maximises
//   sum_i log sum_c a_c f_c(y_i) + sum_c prior_count log a_c
// over the weights a (a_c >= 0, sum 1): maximum likelihood with a Dirichlet(1 + prior_count)
// prior, i.e. prior_count pseudo-photos per component. The log-likelihood is concave in a, so EM
// (a_c <- (sum_i r_ic + prior_count) / (n + C prior_count), r_ic the responsibility of c for photo
// i) climbs monotonically to the global optimum. The prior keeps every weight at least
// prior_count / (n + C prior_count): a floor that no held-out photo needed still gets a little
// weight, so a photo unlike all of them never gets an infinite score.
//
// | input                                                   | result                          |
// | ------------------------------------------------------- | ------------------------------- |
// | no photos, components < 1, size not n x components,     | InvalidArgument                 |
// |   NaN or +infinity, prior_count < 0                     |                                 |
// | a photo with -infinity under every component            | InvalidArgument (add the floor) |
// | identical components                                    | weights stay at the start (1/C) |
//
// Pure function: thread-safe.
#ifndef GEOLOC_CORE_CALIBRATION_MIXTURE_FIT_H_
#define GEOLOC_CORE_CALIBRATION_MIXTURE_FIT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace geoloc::calibration {

struct MixtureFitOptions {
  double prior_count = 1.0;
  int max_iterations = 5000;
  // Stop when the mean log-likelihood per photo gains less than this in one step.
  double tolerance = 1e-12;
};

struct MixtureFit {
  std::vector<double> weights;
  // Mean over photos of log sum_c a_c f_c(y_i) (log per km^2), without the prior.
  double mean_log_likelihood = 0;
  int iterations = 0;
};

absl::StatusOr<MixtureFit> FitMixtureWeights(absl::Span<const double> log_density, int components,
                                             const MixtureFitOptions& options = {});

// Mean over photos of log sum_c weights[c] f_c(y_i) (no prior), for comparing fits.
double MeanLogLikelihood(absl::Span<const double> log_density, absl::Span<const double> weights);

}  // namespace geoloc::calibration

#endif  // GEOLOC_CORE_CALIBRATION_MIXTURE_FIT_H_
