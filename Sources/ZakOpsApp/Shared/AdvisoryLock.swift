/// The keys of the jobs that run one instance at a time (`Database.exclusively`: a PostgreSQL
/// advisory lock). One enum, so that two jobs can never share a key: a raw value used twice
/// does not compile.
enum AdvisoryLock: Int64 {
    case retention = 72_207_014
    case backup = 72_207_015
    case alerts = 72_207_016
}
