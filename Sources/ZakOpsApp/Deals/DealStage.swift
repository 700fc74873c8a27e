/// The pipeline a deal moves through (DESIGN.md): one step forward or back, or to
/// `closed_lost`; `inbound` may also go to `archived`; `closed_*` only to `archived`;
/// `archived` is final.
enum DealStage: String, Sendable, CaseIterable, Codable {
    case inbound
    case initialReview = "initial_review"
    case dueDiligence = "due_diligence"
    case negotiation
    case documentation
    case closing
    case closedWon = "closed_won"
    case closedLost = "closed_lost"
    case archived

    /// The working stages, in order.
    static let pipeline: [DealStage] = [.inbound, .initialReview, .dueDiligence, .negotiation, .documentation, .closing]

    /// The stages a deal in this stage may move to, sorted by pipeline order.
    var next: [DealStage] {
        switch self {
        case .closedWon, .closedLost: return [.archived]
        case .archived: return []
        default:
            let index = Self.pipeline.firstIndex(of: self)!
            var targets: [DealStage] = []
            if index > 0 { targets.append(Self.pipeline[index - 1]) }
            targets.append(index + 1 < Self.pipeline.count ? Self.pipeline[index + 1] : .closedWon)
            targets.append(.closedLost)
            if self == .inbound { targets.append(.archived) }
            return targets.sorted { Self.allCases.firstIndex(of: $0)! < Self.allCases.firstIndex(of: $1)! }
        }
    }

    func canMove(to target: DealStage) -> Bool { next.contains(target) }
}

/// Whether a deal is being worked on.
enum DealStatus: String, Sendable, CaseIterable, Codable {
    case active, inactive, archived, junk
}
