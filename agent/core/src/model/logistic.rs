//! L2-regularised logistic regression, trained by Newton's method (iteratively reweighted
//! least squares). Deterministic: no random initialisation, no sample order, no threads; the
//! same corpus always gives bit-identical weights.
//!
//! Why logistic regression and not boosted stumps: every weight reads as "this feature moves
//! the log-odds by w", so an explanation is exact (the contributions plus the bias sum to the
//! logit); the log loss it minimises is a proper scoring rule, so its outputs are calibrated
//! probabilities on data like the training data without a separate calibration step; and it
//! needs far fewer labelled incidents than trees before it stops overfitting.

/// One labelled training sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Example<'a> {
    pub x: &'a [f64],
    /// 1.0 malicious, 0.0 benign.
    pub y: f64,
    /// Sample weight (operator feedback weighs more than a fixture).
    pub weight: f64,
}

/// The fitted parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub bias: f64,
    pub weights: Vec<f64>,
    pub iterations: u32,
    /// Final regularised, weighted mean log loss.
    pub loss: f64,
}

pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Fit on `data` (each `x` of length `n`) with L2 strength `lambda` on the weights (the bias
/// is not penalised).
pub fn fit(data: &[Example<'_>], n: usize, lambda: f64) -> Fit {
    let dim = n + 1; // index 0: bias
    let mut w = vec![0.0; dim];
    let mut iterations = 0;
    let total_weight: f64 = data
        .iter()
        .map(|e| e.weight)
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    for it in 0..100 {
        iterations = it + 1;
        let mut grad = vec![0.0; dim];
        let mut hess = vec![0.0; dim * dim];
        for e in data {
            let z = w[0] + dot(&w[1..], e.x);
            let p = sigmoid(z);
            let r = e.weight * (p - e.y);
            let s = e.weight * (p * (1.0 - p)).max(1e-12);
            grad[0] += r;
            for i in 0..n {
                grad[i + 1] += r * e.x[i];
            }
            for i in 0..dim {
                let xi = if i == 0 { 1.0 } else { e.x[i - 1] };
                if xi == 0.0 {
                    continue;
                }
                for j in i..dim {
                    let xj = if j == 0 { 1.0 } else { e.x[j - 1] };
                    hess[i * dim + j] += s * xi * xj;
                }
            }
        }
        for i in 0..dim {
            for j in 0..i {
                hess[i * dim + j] = hess[j * dim + i];
            }
        }
        for i in 1..dim {
            grad[i] += lambda * w[i];
            hess[i * dim + i] += lambda;
        }
        // A tiny ridge on the bias keeps the system solvable on a one-class corpus.
        hess[0] += 1e-9;
        let Some(step) = solve(&mut hess, &grad, dim) else {
            break;
        };
        let mut norm = 0.0;
        for i in 0..dim {
            w[i] -= step[i];
            norm += step[i] * step[i];
        }
        if norm.sqrt() < 1e-10 {
            break;
        }
    }
    let mut loss = 0.0;
    for e in data {
        let p = sigmoid(w[0] + dot(&w[1..], e.x)).clamp(1e-15, 1.0 - 1e-15);
        loss -= e.weight * (e.y * p.ln() + (1.0 - e.y) * (1.0 - p).ln());
    }
    loss = loss / total_weight + 0.5 * lambda * w[1..].iter().map(|v| v * v).sum::<f64>();
    Fit {
        bias: w[0],
        weights: w[1..].to_vec(),
        iterations,
        loss,
    }
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solve `a · x = b` for a symmetric positive definite `a` (Cholesky, in place).
fn solve(a: &mut [f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * y[k];
        }
        y[i] = s / a[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = y[i];
        for k in i + 1..n {
            s -= a[k * n + i] * x[k];
        }
        x[i] = s / a[i * n + i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_a_feature_that_predicts_the_label() {
        let xs: Vec<[f64; 2]> = (0..40)
            .map(|i| [f64::from(i % 2), f64::from(i % 3 == 0)])
            .collect();
        let data: Vec<Example<'_>> = xs
            .iter()
            .map(|x| Example {
                x,
                y: x[0],
                weight: 1.0,
            })
            .collect();
        let f = fit(&data, 2, 0.1);
        assert!(f.weights[0] > 2.0, "{f:?}");
        assert!(f.weights[1].abs() < 0.5, "{f:?}");
        assert!(sigmoid(f.bias + f.weights[0]) > 0.9);
        assert!(sigmoid(f.bias) < 0.1);
        // Deterministic: the same data gives the same fit.
        assert_eq!(fit(&data, 2, 0.1), f);
    }

    #[test]
    fn the_bias_alone_learns_the_base_rate() {
        let x = [0.0];
        let data: Vec<Example<'_>> = (0..10)
            .map(|i| Example {
                x: &x,
                y: if i < 3 { 1.0 } else { 0.0 },
                weight: 1.0,
            })
            .collect();
        let f = fit(&data, 1, 1.0);
        assert!((sigmoid(f.bias) - 0.3).abs() < 1e-6, "{f:?}");
    }

    #[test]
    fn sigmoid_is_stable_at_the_extremes() {
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-15);
    }
}
