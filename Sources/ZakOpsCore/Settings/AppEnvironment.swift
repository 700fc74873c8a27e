/// `APP_ENV`: development is forgiving (applies migrations, allows plain HTTP); production
/// runs preflight and refuses an unsafe start.
public enum AppEnvironment: String, Sendable, CaseIterable {
    case development
    case production
}
