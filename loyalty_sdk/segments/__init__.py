"""Segments: lists of members picked by SQL (by tier, RFM score, at risk, points expiring,
near the next tier, never redeemed, and any a plugin adds through ``loyalty_segments``), for
pushing to an e-mail or ads tool (``loyalty segments export NAME --csv``,
``GET /api/v1/segments/{name}``)."""

from loyalty_sdk.segments.export import SegmentExport, export, find, segments
from loyalty_sdk.segments.model import Segment, SegmentContext, SegmentNotFound, parse_assignments

__all__ = ["Segment", "SegmentContext", "SegmentExport", "SegmentNotFound", "export", "find", "parse_assignments",
           "segments"]
