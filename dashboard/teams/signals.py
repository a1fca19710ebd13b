"""Revocations that follow membership: a member removed from a team (in the admin or anywhere) loses that team's
API tokens, and a deactivated user loses all of theirs. ``ApiToken.objects.usable()`` checks membership on every
request as well, so a removal that bypasses signals (a queryset delete, raw SQL) is still refused."""

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from dashboard.teams.models import ApiToken, Membership


@receiver(post_delete, sender=Membership, dispatch_uid="revoke-tokens-of-removed-member")
def revoke_tokens_of_removed_member(sender, instance: Membership, **kwargs) -> None:
    ApiToken.objects.filter(user_id=instance.user_id, team_id=instance.team_id).revoke()


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="revoke-tokens-of-deactivated-user")
def revoke_tokens_of_deactivated_user(sender, instance, created: bool, **kwargs) -> None:
    if not created and not instance.is_active:
        ApiToken.objects.filter(user_id=instance.pk).revoke()
