"""The guardrails page: quiet hours, caps and weekend rules per unit, for administrators."""

from __future__ import annotations

from flask import Blueprint, render_template

from controller.plans import use_cases as plans
from web import auth
from web.ui_base import ctl

bp = Blueprint("ui_guardrails", __name__)


@bp.get("/guardrails")
@auth.access("manage")
def page():
    return render_template("guardrails.html", title="Quy định phát", units=plans.guardrails_page(ctl(), auth.actor()))
