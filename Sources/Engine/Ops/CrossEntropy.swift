import Foundation

/// Cross-entropy over logits with optional label smoothing (timm's LabelSmoothingCrossEntropy):
///
///     logits [B, K]   labels [B]   eps = smoothing
///     q = (1 - eps) onehot(label) + eps / K
///     loss_b = -sum_k q_k log p_k,   p = softmax(logits_b);    loss = mean_b loss_b
///     backward: dlogits_b += (p - q) * scale      (scale = 1 / B for the mean)
///
/// Computed in Double per row (K is small next to everything else), so the loss is exact to float.
public enum CrossEntropy {
    /// Returns the mean loss; writes softmax probabilities into `probs` [B, K] for the backward pass.
    @discardableResult
    public static func forward(probs: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
                               labels: UnsafePointer<Int32>, batch b: Int, classes k: Int, smoothing eps: Float) -> Double {
        var total = 0.0
        for i in 0..<b {
            let z = logits + i * k, p = probs + i * k
            var m = -Double.infinity
            for j in 0..<k { m = max(m, Double(z[j])) }
            var s = 0.0
            for j in 0..<k { s += Foundation.exp(Double(z[j]) - m) }
            let lse = m + Foundation.log(s)
            var meanNLL = 0.0
            for j in 0..<k {
                let logp = Double(z[j]) - lse
                p[j] = Float(Foundation.exp(logp))
                meanNLL -= logp
            }
            meanNLL /= Double(k)
            let y = Int(labels[i])
            let nll = -(Double(z[y]) - lse)
            total += (1 - Double(eps)) * nll + Double(eps) * meanNLL
        }
        return total / Double(max(b, 1))
    }

    public static func backward(dlogits: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>,
                                labels: UnsafePointer<Int32>, batch b: Int, classes k: Int, smoothing eps: Float, scale: Float) {
        let off = eps / Float(k)
        for i in 0..<b {
            let p = probs + i * k, d = dlogits + i * k
            let y = Int(labels[i])
            for j in 0..<k {
                let q = (j == y ? 1 - eps : 0) + off
                d[j] += (p[j] - q) * scale
            }
        }
    }
}

/// DeiT's soft distillation loss (facebookresearch/deit losses.py, distillation_type 'soft'):
///
///     student, teacher [B, K]   tau = temperature
///     loss = tau^2 / (B K) * sum_b KL(softmax(teacher_b / tau) || softmax(student_b / tau))
///     backward: dstudent_b += scale * tau / (B K) * (softmax(student_b / tau) - softmax(teacher_b / tau))
///
/// (The B K denominator is DeiT's `outputs_kd.numel()`.) The total loss DeiT trains with is
/// (1 - alpha) * cross-entropy + alpha * this.
public enum SoftDistillation {
    @discardableResult
    public static func forward(studentProbs: UnsafeMutablePointer<Float>, teacherProbs: UnsafeMutablePointer<Float>,
                               student: UnsafePointer<Float>, teacher: UnsafePointer<Float>,
                               batch b: Int, classes k: Int, tau: Float) -> Double {
        var total = 0.0
        let t = Double(tau)
        func logSoftmax(_ z: UnsafePointer<Float>, into out: inout [Double]) {
            var m = -Double.infinity
            for j in 0..<k { m = max(m, Double(z[j]) / t) }
            var s = 0.0
            for j in 0..<k { s += Foundation.exp(Double(z[j]) / t - m) }
            let lse = m + Foundation.log(s)
            for j in 0..<k { out[j] = Double(z[j]) / t - lse }
        }
        var ls = [Double](repeating: 0, count: k), lt = ls
        for i in 0..<b {
            logSoftmax(student + i * k, into: &ls)
            logSoftmax(teacher + i * k, into: &lt)
            for j in 0..<k {
                let pt = Foundation.exp(lt[j])
                total += pt * (lt[j] - ls[j])
                studentProbs[i * k + j] = Float(Foundation.exp(ls[j]))
                teacherProbs[i * k + j] = Float(pt)
            }
        }
        return total * t * t / Double(b * k)
    }

    public static func backward(dstudent: UnsafeMutablePointer<Float>, studentProbs: UnsafePointer<Float>,
                                teacherProbs: UnsafePointer<Float>, batch b: Int, classes k: Int, tau: Float, scale: Float) {
        let c = scale * tau / Float(b * k)
        for i in 0..<(b * k) { dstudent[i] += c * (studentProbs[i] - teacherProbs[i]) }
    }
}
