"""Typed SQLAlchemy models, one module per aggregate."""
from cms.models.accounts import ApiToken, LoginAttempt, User
from cms.models.audit import AuditEvent
from cms.models.plans import CAMPAIGN_STATUSES, Campaign, CampaignPartner, OrgUnit, Plan

__all__ = ["CAMPAIGN_STATUSES", "ApiToken", "AuditEvent", "Campaign", "CampaignPartner", "LoginAttempt", "OrgUnit", "Plan", "User"]
