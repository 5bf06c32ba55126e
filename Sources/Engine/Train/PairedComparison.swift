import Foundation

/// Two models' top-1 on the same images compared image by image: the difference in accuracy, its
/// 95 % interval and McNemar's exact test on the images where they disagree. Only disagreements
/// carry information about which model is better: n10 images only A gets right, n01 only B.
///
///     diff      = (n10 - n01) / n                                     (points: x 100)
///     95 % CI   = diff +- 1.96 sqrt(n10 + n01 - (n10 - n01)^2 / n) / n   (Wald, paired proportions)
///     p         = min(1, 2 P(X <= min(n10, n01))),  X ~ Binomial(n10 + n01, 1/2)   (exact, two-sided)
public struct PairedComparison: Sendable, Equatable {
    public let images: Int
    /// Images only the first model gets right, and only the second.
    public let onlyA: Int, onlyB: Int

    public init(_ a: [Bool], _ b: [Bool]) {
        precondition(a.count == b.count, "PairedComparison: \(a.count) and \(b.count) images")
        images = a.count
        onlyA = zip(a, b).filter { $0 && !$1 }.count
        onlyB = zip(a, b).filter { !$0 && $1 }.count
    }

    /// A's top-1 minus B's, in percentage points.
    public var difference: Double { images == 0 ? 0 : 100 * Double(onlyA - onlyB) / Double(images) }

    /// The 95 % interval of `difference`, in points.
    public var interval: ClosedRange<Double> {
        guard images > 0 else { return 0...0 }
        let n = Double(images), d = Double(onlyA - onlyB)
        let se = max(0, Double(onlyA + onlyB) - d * d / n).squareRoot() / n
        return (difference - 196 * se)...(difference + 196 * se)
    }

    /// McNemar's exact two-sided p-value.
    public var pValue: Double {
        let m = onlyA + onlyB, k = min(onlyA, onlyB)
        guard m > 0 else { return 1 }
        // P(X <= k) for X ~ Bin(m, 1/2), summed in logs (m reaches thousands).
        let logHalf = Double(m) * Foundation.log(0.5)
        var logC = 0.0, total = 0.0
        for i in 0...k {
            if i > 0 { logC += Foundation.log(Double(m - i + 1)) - Foundation.log(Double(i)) }
            total += Foundation.exp(logC + logHalf)
        }
        return min(1, 2 * total)
    }

    /// Whether the difference is significant at the 5 % level.
    public var significant: Bool { Self.isSignificant(pValue: pValue) }

    /// The rule `significant` applies, for a p-value read back from a report.
    public static func isSignificant(pValue: Double) -> Bool { pValue < 0.05 }
}
