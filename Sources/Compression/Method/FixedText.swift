/// Fixed-point text, locale-independent (String(format:) would follow LC_NUMERIC in C code paths),
/// for the settings the methods name in the explorer's exports.
public enum FixedText {
    public static func format(_ v: Double, digits: Int) -> String {
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        let scaled = (abs(v) * p).rounded()
        let whole = Int(scaled / p), frac = Int(scaled - Double(whole) * p)
        var f = String(frac)
        while f.count < digits { f = "0" + f }
        return (v < 0 && scaled != 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + f : "")
    }
}

/// Two decimals, as every method's explorer settings show ratios.
func fixed2(_ v: Double) -> String { FixedText.format(v, digits: 2) }
