"""Matrix runs and prompt templates: the preview grid and its total (against pricing),
every cell checked by its model's own form, the budget on the total, one job per cell
made all at once and never twice, templates expanded, checked, saved and reused, and a
run's page: who may see it, its live check, and keeping it as a collection."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground import catalogue, pricing
from playground.gallery.models import Collection
from playground.generations import references
from playground.generations.jobs import save_result
from playground.generations.models import Generation, GenerationReference, State
from playground.matrix.models import MatrixCell, MatrixRun, PromptTemplate
from playground.matrix.plan import MAX_CELLS
from playground.teams.models import Team
from tests.factories import png_bytes

pytestmark = pytest.mark.django_db

MATRIX = "/t/a/matrix/"
TWO_BY_THREE = {"models": ["gpt-image-1", "gpt-image-2"], "qualities": ["low", "medium", "high"]}


def form(**data: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "mode": "matrix",
        "prompt": "a red fox in the snow",
        "models": ["gpt-image-2"],
        "qualities": ["low"],
        "sizes": ["1:1"],
        "resolution": "1K",
        "n": "1",
        "client_token": str(uuid.uuid4()),
        "action": "preview",
    }
    values.update(data)
    return values


def template_form(**data: Any) -> dict[str, Any]:
    values = form(
        mode="template",
        prompt="",
        template="a {animal} in a {colour} raincoat",
        var_names=["animal", "colour"],
        **{"values-animal": "fox\ncat\n\nfox", "values-colour": "red\nblue"},
    )
    values.update(data)
    return values


def generate(client: Client, data: dict[str, Any]) -> Any:
    return client.post(MATRIX, {**data, "action": "generate"})


def run_of(response: Any) -> MatrixRun:
    assert response.status_code == 302, response.status_code
    public_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    return MatrixRun.objects.get(public_id=public_id)


# --- The page and the preview -------------------------------------------------------


def test_the_studio_carries_its_prompt_references_and_settings_over(
    alice: User, alice_client: Client, team_a: Team
) -> None:
    reference = references.store_bytes(png_bytes(40, 30, "red"), "red.png")
    token = references.form_token(reference, alice, team_a)
    response = alice_client.get(
        MATRIX,
        {
            "prompt": "a lighthouse",
            "model": "gpt-image-1",
            "quality": "medium",
            "size": "1024x1536",
            "reference": token,
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "a lighthouse</textarea>" in page
    # The reference is shown and travels on as the studio's signed token.
    assert f'data-sha="{reference.sha256[:12]}"' in page
    tokens = [t.split('"')[0] for t in page.split('name="reference" value="')[1:]]
    assert [a.image for a in references.from_tokens(tokens, alice, team_a)] == [reference]
    data = response.context["form"].data
    assert data.getlist("models") == ["gpt-image-1"]
    assert data.getlist("qualities") == ["medium"]
    assert data.getlist("sizes") == ["2:3"]  # 1024×1536 is offered as its ratio
    assert Generation.objects.count() == 0


def test_the_page_opens_on_one_cell_of_the_default_model_and_says_its_cost(
    alice_client: Client,
) -> None:
    response = alice_client.get(MATRIX)
    spec = catalogue.MODELS[catalogue.DEFAULT_MODEL]
    estimate = pricing.estimate(spec, quality=spec.default_quality, size=spec.default_size)
    page = response.content.decode()
    assert "1 job" in page
    assert (
        f'≈ <span title="{estimate.total_credits}">{estimate.total_credits:.2f}</span> credits'
        in page
    )
    assert re.search(r'<input[^>]*value="matrix"[^>]*checked', page)  # "One prompt"
    assert "errorlist" not in page  # nothing typed yet: nothing is wrong yet


def test_the_studio_form_sent_without_javascript_is_cleaned_of_its_tokens(
    alice_client: Client,
) -> None:
    response = alice_client.get(
        MATRIX, {"csrfmiddlewaretoken": "secret", "client_token": "x", "prompt": "a fox"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{MATRIX}?prompt=a+fox"


def test_the_studio_links_to_the_matrix_page(alice_client: Client) -> None:
    page = alice_client.get("/t/a/").content.decode()
    assert 'formaction="/t/a/matrix/"' in page and "data-matrix-run" in page


def test_the_preview_shows_every_cell_with_its_estimate_and_the_total(
    alice_client: Client,
) -> None:
    response = alice_client.post(MATRIX, form(**TWO_BY_THREE))
    plan = response.context["plan"]
    assert plan.rows == ["GPT Image 1", "GPT Image 2"]
    assert plan.columns == ["Low", "Medium", "High"]
    assert plan.shared == "1:1"
    expected = Decimal(0)
    for cell in plan.cells:
        spec = catalogue.MODELS[cell.settings["model"]]
        estimate = pricing.estimate(
            spec,
            quality=cell.settings["quality"],
            size="1024x1024" if not spec.is_flexible else "1:1",
            resolution="1K" if spec.is_flexible else None,
            prompt="a red fox in the snow",
        )
        assert cell.estimate.total_credits == estimate.total_credits
        expected += estimate.total_credits
    assert len(plan.jobs) == 6
    assert plan.total == expected
    page = response.content.decode()
    assert f'≈ <span title="{expected}">{expected:,.2f}</span> credits' in page
    assert page.count('data-testid="preview-cell"') == 6
    assert "Generate 6 jobs" in page
    assert Generation.objects.count() == 0 and MatrixRun.objects.count() == 0


def test_the_live_preview_answers_with_the_grid_and_each_fields_messages(
    alice_client: Client,
) -> None:
    response = alice_client.post(
        MATRIX, form(action="live", n="11", qualities=["low", "high"]), HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="matrix-preview"')
    assert 'id="errors-n" hx-swap-oob="true"' in page
    assert "Number of images must be a whole number from 1 to 10 (got 11)." in page
    assert 'id="matrix-actions" hx-swap-oob="true"' in page


def test_a_size_a_model_does_not_accept_is_shown_with_the_models_reason_and_not_made(
    alice_client: Client,
) -> None:
    response = alice_client.post(
        MATRIX, form(models=["gpt-image-1", "gpt-image-2"], sizes=["1:1", "auto"])
    )
    plan = response.context["plan"]
    skipped = [c for c in plan.cells if c.skipped]
    assert len(skipped) == 1
    assert skipped[0].settings == {
        "vars": {},
        "model": "gpt-image-1",
        "size": "auto",
        "quality": "low",
    }
    assert "GPT Image 1 accepts these sizes" in skipped[0].skipped
    assert "(got auto)" in skipped[0].skipped
    assert len(plan.jobs) == 3 and plan.ready
    run = run_of(
        generate(alice_client, form(models=["gpt-image-1", "gpt-image-2"], sizes=["1:1", "auto"]))
    )
    assert Generation.objects.count() == 3
    note = MatrixCell.objects.get(run=run, generation=None)
    assert "GPT Image 1 accepts these sizes" in note.note


def test_every_cell_passes_its_models_own_form(alice_client: Client) -> None:
    # 2,001+ tokens: too long for GPT Image 1 (a token limit), fine for GPT Image 2.
    long_prompt = "fox " * 2100
    data = form(prompt=long_prompt, models=["gpt-image-1", "gpt-image-2"], n="0")
    response = generate(alice_client, data)
    assert response.status_code == 200
    errors = response.context["plan"].errors
    assert any("GPT Image 1 accepts at most 2,000" in m for m in errors["prompt"])
    assert any("from 1 to 10 (got 0)" in m for m in errors["n"])
    assert Generation.objects.count() == 0 and MatrixRun.objects.count() == 0
    page = response.content.decode()
    assert "fox fox" in page  # nothing typed is lost


def test_a_run_past_the_cell_cap_is_refused(alice_client: Client) -> None:
    sizes = ["1:1", "2:3", "3:2", "auto", "16:9", "9:16"]
    data = form(models=list(catalogue.MODEL_IDS), qualities=list(catalogue.QUALITIES), sizes=sizes)
    response = generate(alice_client, data)
    assert MAX_CELLS < 3 * 3 * 6
    assert f"These choices make 54 jobs; a run makes at most {MAX_CELLS}." in (
        response.content.decode()
    )
    assert Generation.objects.count() == 0


def test_the_budget_applies_to_the_total_and_refuses_without_making_anything(
    alice_client: Client, team_a: Team
) -> None:
    one = pricing.estimate(
        catalogue.MODELS["gpt-image-2"],
        quality="high",
        size="1:1",
        resolution="1K",
        prompt="a red fox in the snow",
    ).total_credits
    # Enough for any one job of the run, not for all six.
    team_a.monthly_budget_credits = one * 2
    team_a.save()
    response = alice_client.post(MATRIX, form(**TWO_BY_THREE))
    assert "These 6 jobs need ≈" in response.context["budget_problem"]
    assert "the team has" in response.context["budget_problem"]
    response = generate(alice_client, form(**TWO_BY_THREE))
    assert response.status_code == 200
    assert "These 6 jobs need ≈" in response.content.decode()
    assert "Nothing was sent." in response.content.decode()
    assert Generation.objects.count() == 0 and MatrixRun.objects.count() == 0


# --- Generate -----------------------------------------------------------------------


def test_generate_makes_one_job_per_cell_once_even_when_the_post_is_replayed(
    alice: User, alice_client: Client, team_a: Team, django_capture_on_commit_callbacks: Any
) -> None:
    reference = references.store_bytes(png_bytes(40, 30, "red"), "red.png")
    data = form(**TWO_BY_THREE, reference=[references.form_token(reference, alice, team_a)])
    with django_capture_on_commit_callbacks() as woken:
        run = run_of(generate(alice_client, data))
    assert len(woken) == 6  # one worker wake-up per job, after the commit
    replayed = generate(alice_client, data)  # a double click, a browser's resubmit
    assert run_of(replayed) == run
    jobs = list(Generation.objects.order_by("pk"))
    assert len(jobs) == 6 and MatrixRun.objects.count() == 1
    cells = list(run.cells.select_related("generation"))
    assert [(c.row, c.column) for c in cells] == [(r, c) for r in range(2) for c in range(3)]
    for cell in cells:
        job = cell.generation
        assert job.owner == alice and job.team == team_a
        assert (job.model, job.quality) == (cell.settings["model"], cell.settings["quality"])
        assert cell.row_label == job.spec.label
        assert cell.column_label == str(catalogue.QUALITY_LABELS[job.quality])
        # Through the studio's path: its estimate and its references.
        estimate = pricing.estimate(
            job.spec,
            quality=job.quality,
            size=job.size,
            resolution=job.resolution or None,
            reference_images=1,
            prompt=job.prompt,
        )
        assert job.estimated_credits == estimate.total_credits
        assert GenerationReference.objects.filter(generation=job, reference=reference).exists()
    assert run.axes["rows"] == ["GPT Image 1", "GPT Image 2"]
    assert run.choices["models"] == ["gpt-image-1", "gpt-image-2"]


def test_jobs_of_a_run_keep_the_only_me_choice(alice: User, alice_client: Client) -> None:
    run_of(generate(alice_client, form(private="on")))
    assert Generation.objects.get().private is True


# --- Templates ----------------------------------------------------------------------


def test_a_template_makes_one_job_per_combination(alice_client: Client) -> None:
    response = alice_client.post(MATRIX, template_form())
    plan = response.context["plan"]
    assert plan.rows == ["fox", "cat"]  # blank lines and repeats dropped
    assert plan.columns == ["red", "blue"]
    assert plan.row_heading == "{animal}" and plan.column_heading == "{colour}"
    run = run_of(generate(alice_client, template_form()))
    prompts = sorted(Generation.objects.values_list("prompt", flat=True))
    assert prompts == sorted(
        f"a {a} in a {c} raincoat" for a in ("fox", "cat") for c in ("red", "blue")
    )
    assert run.kind == "template" and run.text == "a {animal} in a {colour} raincoat"
    assert run.choices["values"] == {"animal": ["fox", "cat"], "colour": ["red", "blue"]}


def test_a_template_combines_with_the_models(alice_client: Client) -> None:
    data = template_form(models=["gpt-image-1", "gpt-image-2"], **{"values-colour": "red"})
    plan = alice_client.post(MATRIX, data).context["plan"]
    assert plan.rows == [
        "fox · GPT Image 1",
        "fox · GPT Image 2",
        "cat · GPT Image 1",
        "cat · GPT Image 2",
    ] or (plan.columns == ["GPT Image 1", "GPT Image 2"])
    assert len(plan.jobs) == 4


def test_the_live_preview_does_not_scold_a_values_field_just_made(
    alice_client: Client,
) -> None:
    data = template_form(template="a {animal} {mood}", action="live")
    page = alice_client.post(MATRIX, data, HTTP_HX_REQUEST="true").content.decode()
    # {mood} is new: its field comes out of band, empty and without a message;
    # {colour} left the template: its values stay, with a message.
    assert '<div id="template-values" class="template-values" hx-swap-oob="true">' in page
    assert 'name="values-mood"' in page
    assert "Give at least one value for {mood}" not in page
    assert "{colour} is no longer in the template" in page
    assert "Give each {variable} its values" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"template": "a fox"}, "template", "The template has no {variable}"),
        ({"template": "  "}, "template", "Write the template"),
        ({"values-colour": " \n "}, "values-colour", "Give at least one value for {colour}"),
        ({"template": "a {animal}"}, "values-colour", "{colour} is no longer in the template"),
    ],
)
def test_template_problems_are_said_next_to_their_field_and_nothing_is_lost(
    alice_client: Client, data: dict[str, Any], field: str, message: str
) -> None:
    response = generate(alice_client, template_form(**data))
    assert response.status_code == 200
    page = response.content.decode()
    slot = page.split(f'id="errors-{field}"', 1)[1].split("</div>", 1)[0]
    assert message in slot
    assert "fox\ncat" in page or "fox\r\ncat" in page  # the values typed are still there
    assert Generation.objects.count() == 0


def test_a_filled_prompt_past_the_models_limit_names_its_values(alice_client: Client) -> None:
    data = template_form(
        models=["gpt-image-1"],
        **{"values-animal": "fox\n" + "very " * 2100 + "long cat", "values-colour": "red"},
    )
    errors = generate(alice_client, data).context["plan"].errors["template"]
    assert len(errors) == 1
    assert errors[0].startswith("{animal} = very very")
    assert "GPT Image 1 accepts at most 2,000" in errors[0]
    assert Generation.objects.count() == 0


def test_too_many_combinations_are_refused(alice_client: Client) -> None:
    values = "\n".join(f"animal {i}" for i in range(25))
    response = generate(alice_client, template_form(**{"values-animal": values}))
    assert "These choices make 50 jobs" in response.content.decode()
    assert Generation.objects.count() == 0


def test_templates_are_saved_for_the_team_overwritten_on_confirmation_and_reused(
    alice: User, alice_client: Client, bob_client: Client, team_a: Team
) -> None:
    response = alice_client.post("/t/a/templates/", template_form(template_name="Raincoats"))
    saved = PromptTemplate.objects.get(team=team_a)
    assert response.status_code == 302
    assert response["Location"] == f"{MATRIX}?template={saved.pk}"
    assert saved.values == {"animal": ["fox", "cat"], "colour": ["red", "blue"]}

    # A colleague reuses it: the page opens in template mode with its values.
    page = bob_client.get(MATRIX, {"template": saved.pk})
    data = page.context["form"].data
    assert data["mode"] == "template" and data["template"] == saved.text
    assert data["values-animal"] == "fox\ncat"

    # Saving the same name again asks first, keeping everything typed.
    changed = template_form(template_name="raincoats", template="a {animal} in {colour} boots")
    response = bob_client.post("/t/a/templates/", changed)
    assert response.status_code == 200
    assert "already has a template called “Raincoats”" in response.content.decode()
    assert 'data-testid="overwrite"' in response.content.decode()
    assert "in {colour} boots" in response.content.decode()
    assert PromptTemplate.objects.get().text == "a {animal} in a {colour} raincoat"
    response = bob_client.post("/t/a/templates/", {**changed, "overwrite": str(saved.pk)})
    assert response.status_code == 302
    saved.refresh_from_db()
    assert saved.text == "a {animal} in {colour} boots" and saved.name == "raincoats"
    assert PromptTemplate.objects.count() == 1

    # Delete.
    assert bob_client.post(f"/t/a/templates/{saved.pk}/delete/").status_code == 302
    assert not PromptTemplate.objects.exists()


def test_a_template_is_not_saved_without_a_name_or_with_bad_values(alice_client: Client) -> None:
    response = alice_client.post("/t/a/templates/", template_form(template_name=""))
    assert "Name the template to save it." in response.content.decode()
    response = alice_client.post(
        "/t/a/templates/", template_form(template_name="x", **{"values-colour": ""})
    )
    assert "Give at least one value for {colour}" in response.content.decode()
    assert not PromptTemplate.objects.exists()


def test_a_template_of_another_team_cannot_be_opened_or_deleted(
    alice_client: Client, charlie: User, team_b: Team
) -> None:
    theirs = PromptTemplate.objects.create(
        team=team_b, name="secret", text="{x}", values={"x": ["1"]}
    )
    assert alice_client.get(MATRIX, {"template": theirs.pk}).status_code == 404
    assert alice_client.post(f"/t/a/templates/{theirs.pk}/delete/").status_code == 404
    assert PromptTemplate.objects.filter(pk=theirs.pk).exists()


# --- A run's page -------------------------------------------------------------------


def finish(job: Generation, colour: str = "teal") -> None:
    Generation.objects.filter(pk=job.pk).update(state=State.RUNNING)
    save_result(job, 0, png_bytes(16, 16, colour))
    Generation.objects.transition(job.pk, State.RUNNING, state=State.COMPLETED)


def test_the_run_page_fills_in_live_and_stops_polling_when_every_job_is_final(
    alice_client: Client, bob_client: Client
) -> None:
    run = run_of(generate(alice_client, form(qualities=["low", "high"])))
    url = f"/t/a/runs/{run.public_id}/"
    page = bob_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="run-cell"') == 2
    assert 'hx-trigger="every 2s"' in html
    live_url = page.context["live_url"]
    # Nothing changed: an empty 204.
    assert bob_client.get(live_url, HTTP_HX_REQUEST="true").status_code == 204
    first, second = (c.generation for c in run.cells.order_by("column"))
    finish(first)
    fragment = bob_client.get(live_url, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert html.lstrip().startswith('<section id="run-grid"')
    assert "image-tile-" in html and 'hx-trigger="every 2s"' in html
    finish(second)
    html = bob_client.get(fragment.context["live_url"], HTTP_HX_REQUEST="true").content.decode()
    assert html.count("image-tile-") == 2
    assert "hx-trigger" not in html  # all final: the grid stops asking
    assert "2 of 2 jobs finished" in html


def test_a_colleagues_only_me_job_stays_hidden_in_the_run(
    alice_client: Client, bob_client: Client
) -> None:
    # A shared run whose one job alice made "Only me" afterwards.
    run = run_of(generate(alice_client, form()))
    job = run.cells.get().generation
    finish(job)
    job.set_private(True)
    html = bob_client.get(f"/t/a/runs/{run.public_id}/").content.decode()
    assert "Only its maker can see this job." in html
    assert "image-tile-" not in html and "a red fox" not in html.split("run-grid", 1)[1]
    assert "image-tile-" in alice_client.get(f"/t/a/runs/{run.public_id}/").content.decode()


def test_a_viewer_sees_a_run_but_cannot_keep_it_and_a_stranger_sees_nothing(
    alice_client: Client, vera_client: Client, charlie_client: Client
) -> None:
    run = run_of(generate(alice_client, form()))
    page = vera_client.get(f"/t/a/runs/{run.public_id}/").content.decode()
    assert 'data-testid="keep"' not in page and "Download as ZIP" in page
    assert vera_client.post(f"/t/a/runs/{run.public_id}/keep/").status_code == 403
    assert vera_client.get(MATRIX).status_code == 403
    assert charlie_client.get(f"/t/a/runs/{run.public_id}/").status_code == 404
    # Nor through charlie's own team's address.
    assert charlie_client.get(f"/t/b/runs/{run.public_id}/").status_code == 404


def test_keep_as_a_collection_makes_one_named_after_the_run_and_then_opens_it(
    alice_client: Client, bob_client: Client, team_a: Team
) -> None:
    run = run_of(generate(alice_client, form(qualities=["low", "medium", "high"])))
    cells = list(run.cells.order_by("column"))
    for cell in cells[:2]:
        finish(cell.generation)
    response = bob_client.post(f"/t/a/runs/{run.public_id}/keep/")
    collection = Collection.objects.get(team=team_a)
    assert response["Location"] == f"/t/a/collections/{collection.pk}/"
    assert collection.name == "Run: a red fox in the snow"
    ordered = list(
        collection.items.order_by("added_at", "id").values_list("image__generation", flat=True)
    )
    assert ordered == [cells[0].generation_id, cells[1].generation_id]
    assert collection.cover.generation_id == cells[0].generation_id
    # Later: pressed again, it adds what arrived since and opens the same collection.
    finish(cells[2].generation)
    again = alice_client.post(f"/t/a/runs/{run.public_id}/keep/")
    assert again["Location"] == response["Location"]
    assert Collection.objects.count() == 1 and collection.items.count() == 3
    run.refresh_from_db()
    assert run.collection == collection
    # A second run with the same prompt gets its own name.
    other = run_of(generate(alice_client, form()))
    alice_client.post(f"/t/a/runs/{other.public_id}/keep/")
    assert Collection.objects.filter(name="Run: a red fox in the snow (2)").exists()


def test_a_deleted_job_leaves_its_cell(alice_client: Client) -> None:
    run = run_of(generate(alice_client, form()))
    job = run.cells.get().generation
    finish(job)
    job.delete_with_files()
    cell = MatrixCell.objects.get(run=run)
    assert cell.generation is None
    assert (
        "This job was deleted." in alice_client.get(f"/t/a/runs/{run.public_id}/").content.decode()
    )


def test_the_matrix_page_lists_the_teams_recent_runs(
    alice_client: Client, bob_client: Client
) -> None:
    run = run_of(generate(alice_client, form()))
    page = bob_client.get(MATRIX).content.decode()
    assert f"/t/a/runs/{run.public_id}/" in page


def test_a_runs_images_can_be_ticked_and_collected_from_its_page(
    alice_client: Client, alice: User, team_a: Team
) -> None:
    """The run page carries the selection bar and the lightbox's collection picker, so
    the cells of a run can be compared, collected or exported together."""
    from tests.factories import fake_result, make_generation

    Collection.objects.create(team=team_a, name="Boats", created_by=alice)
    run = MatrixRun.objects.create(
        team=team_a, created_by=alice, text="a boat", client_token=uuid.uuid4()
    )
    job = make_generation(alice, prompt="a boat", state="completed")
    image = fake_result(job)
    MatrixCell.objects.create(
        run=run, generation=job, row=0, column=0, row_label="m", column_label="q"
    )
    page = alice_client.get(f"/t/a/runs/{run.public_id}/").content.decode()
    assert f'data-select-image="{image.pk}"' in page
    assert 'id="selection-form"' in page and 'id="collection-picker"' in page
    assert ">Boats</option>" in page
