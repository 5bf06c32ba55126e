import Engine
@main struct Main { static func main() { print(BLAS.configure().note) } }
