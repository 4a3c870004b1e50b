"""Phase 5: the points-based lead score and the one path that scores records against an ICP."""
