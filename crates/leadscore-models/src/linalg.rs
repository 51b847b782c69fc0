//! Dense symmetric solves shared by the Newton logistic fit and the ridge value model.

/// Lower Cholesky factor of a symmetric row-major matrix, in place; false when it is not
/// (numerically) positive definite.
pub(crate) fn cholesky(matrix: &mut [f64], width: usize) -> bool {
    for j in 0..width {
        let mut diagonal = matrix[j * width + j];
        for k in 0..j {
            diagonal -= matrix[j * width + k] * matrix[j * width + k];
        }
        if !(diagonal > 0.0 && diagonal.is_finite()) {
            return false;
        }
        let pivot = diagonal.sqrt();
        matrix[j * width + j] = pivot;
        for i in j + 1..width {
            let mut value = matrix[i * width + j];
            for k in 0..j {
                value -= matrix[i * width + k] * matrix[j * width + k];
            }
            matrix[i * width + j] = value / pivot;
        }
    }
    true
}

/// Solves `L·Lᵀ·x = b` given the lower factor `L`.
pub(crate) fn cholesky_solve(factor: &[f64], width: usize, mut b: Vec<f64>) -> Vec<f64> {
    for i in 0..width {
        let mut value = b[i];
        for k in 0..i {
            value -= factor[i * width + k] * b[k];
        }
        b[i] = value / factor[i * width + i];
    }
    for i in (0..width).rev() {
        let mut value = b[i];
        for k in i + 1..width {
            value -= factor[k * width + i] * b[k];
        }
        b[i] = value / factor[i * width + i];
    }
    b
}
