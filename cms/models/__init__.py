"""Typed SQLAlchemy models, one module per aggregate."""
from cms.models.accounts import ApiToken, LoginAttempt, User
from cms.models.audit import AuditEvent
from cms.models.manifests import BoardSync, Manifest, PushAttempt
from cms.models.media import ASSET_KINDS, ASSET_STATUSES, MediaAsset, MediaDerivative
from cms.models.play_stats import NO_CAMPAIGN, PlanHour, PlannedDaily, PlannedHourly, PlayDaily, PlayHourly
from cms.models.playback import (
    PLAY_FLAGS, ArchivedPlay, BoardHealth, PlaybackEvent, PlaylogArchive, PlaylogBatch, PlaylogChain, PlaylogChainDay,
    PlaylogCheck,
)
from cms.models.playlists import Playlist, PlaylistItem
from cms.models.rules import ScheduleRule
from cms.models.screens import Screen
from cms.models.plans import CAMPAIGN_STATUSES, Campaign, CampaignPartner, OrgUnit, Plan
from cms.models.website import POST_STATUSES, PortalMedia, PortalPost, WebPost, WebPostMedia

__all__ = ["ASSET_KINDS", "ASSET_STATUSES", "ArchivedPlay", "CAMPAIGN_STATUSES", "MediaAsset", "MediaDerivative", "ApiToken", "AuditEvent", "BoardHealth", "BoardSync", "Manifest", "PushAttempt", "Campaign", "CampaignPartner", "LoginAttempt", "OrgUnit", "Plan", "NO_CAMPAIGN", "PLAY_FLAGS", "PlanHour", "PlannedDaily", "PlannedHourly", "PlayDaily", "PlayHourly", "PlaybackEvent", "PlaylogArchive", "PlaylogBatch", "PlaylogChain", "PlaylogChainDay", "PlaylogCheck", "Playlist", "PlaylistItem", "ScheduleRule", "Screen", "User", "POST_STATUSES", "WebPost", "WebPostMedia", "PortalPost", "PortalMedia"]
