import ArgumentParser
import Explorer

/// The terminal's colours as the user asks for them: `auto` reads the terminal (NO_COLOR, COLORTERM,
/// TERM's terminfo entry); the others force a mode.
enum ColorChoice: String, CaseIterable, ExpressibleByArgument {
    case auto, none, eight = "8", c256 = "256", truecolor

    var mode: ColorMode? { self == .auto ? nil : ColorMode(rawValue: rawValue) }
    static let help: ArgumentHelp = "Colours: auto, none, 8, 256 or truecolor (auto honours NO_COLOR, and COLORTERM=truecolor|24bit where a *-direct terminfo entry exists)."
}

struct Explore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open the explorer: which tokens each layer prunes, merges and restores (the default command).",
        discussion: "With no arguments it opens the shipped Fashion-MNIST model on the sample images in assets/images. Images are PNG or JPEG (told apart by their first bytes); a folder opens every image in it in sorted order (torchvision's ImageFolder layout, one subfolder per class, shows each image's true label when there is a folder per model class; a flat folder has no labels; folder images are decoded when first shown, and one that cannot be read shows black with the reason in its title). Keys: left/right (h/l) layer, up/down (k/j) keep ratio, [ and ] prune rate, v or Tab view, 1 2 3 layout (one layer, all layers, methods side by side), s plan source, g grouping (grid/official), u recovery (update/official), m method (Prune and Merge, ToMe, EViT, PiToMe, DiffRate), t glyphs, H J K L or Shift+arrows patch cursor, n/p image, e export, r reset, ? help, q quit; a mouse click on a patch shows its state in every layer. When stdout is not a terminal, or TERM is unset or dumb, it prints the text patch map of the first image instead. --snapshot draws what the screen would show into a PNG and exits (no terminal needed)."
    )

    @Argument(help: "PNG or JPEG images, or folders of them (every image inside; one subfolder per class gives true labels), to explore (default: the shipped samples).") var images: [String] = []
    @OptionGroup var options: ExplorerOptions
    @Option(help: ColorChoice.help) var color: ColorChoice = .auto
    @OptionGroup var snapshot: SnapshotOptions

    func validate() throws { try snapshot.check() }

    func run() throws {
        try reportingErrors {
            if let path = snapshot.snapshot {
                try ExplorerSnapshot.write(to: path, options: options, images: images, color: color, snapshot: snapshot)
            } else {
                try ExplorerSession.run(options: options, images: images, color: color, demoInterval: nil)
            }
        }
    }
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The explorer plays by itself: walks the layers, sweeps keep and prune, switches views, layouts, plan sources and images, with a caption.",
        discussion: "Made for showing TokenScope to others (over SSH too: only what changed is redrawn). Any key pauses the demo and hands over the controls (the explorer's keys; ? help); q quits. It loops until stopped. Without a terminal it prints the text patch map, as `explore` does."
    )

    @Argument(help: "PNG or JPEG images, or folders of them (default: the shipped samples).") var images: [String] = []
    @OptionGroup var options: ExplorerOptions
    @Option(help: ColorChoice.help) var color: ColorChoice = .auto
    @Option(help: "Steps per second (1: one step a second; 4: four).") var speed: Double = 1

    func validate() throws {
        guard speed > 0, speed <= 50 else { throw ValidationError("--speed must be in (0, 50] steps per second") }
    }

    func run() throws {
        try reportingErrors { try ExplorerSession.run(options: options, images: images, color: color, demoInterval: 1 / speed) }
    }
}
