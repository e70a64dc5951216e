"""The starter set of report templates (zh-CN and English), kept in the database by
`ensure_starter_templates` at every migrate: built-in rows are read-only and refreshed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hounsfield.reports.models import ReportTemplate

Field = dict[str, Any]


def _choice(key: str, zh: str, en: str, options: list[str]) -> tuple[Field, Field]:
    return (
        {"key": key, "label": zh, "type": "choice", "options": options},
        {"key": key, "label": en, "type": "choice", "options": options},
    )


def _number(key: str, zh: str, en: str, unit: str) -> tuple[Field, Field]:
    return (
        {"key": key, "label": zh, "type": "number", "unit": unit},
        {"key": key, "label": en, "type": "number", "unit": unit},
    )


# code: (modality, body part, (zh name, en name), zh sections, en sections, fields)
STARTER: dict[str, tuple[str, str, tuple[str, str], dict[str, str], dict[str, str], list[Any]]] = {
    "chest-xr": (
        "DX", "CHEST", ("胸部X线", "Chest X-ray"),
        {"findings": "两肺纹理清晰，未见明确实变影。心影大小形态正常。两膈面光整，肋膈角锐利。",
         "impression": "胸部正位片未见明显异常。", "recommendation": ""},
        {"findings": "The lungs are clear without focal consolidation. The cardiac silhouette is "
         "normal in size. The diaphragm is smooth and the costophrenic angles are sharp.",
         "impression": "No acute cardiopulmonary abnormality.", "recommendation": ""},
        [_number("ctr", "心胸比", "Cardiothoracic ratio", "")],
    ),
    "chest-ct": (
        "CT", "CHEST", ("胸部CT", "Chest CT"),
        {"findings": "两肺野透亮度正常，未见明确结节及实变。气管及主支气管通畅。"
         "纵隔内未见肿大淋巴结。"
         "双侧胸腔未见积液。",
         "impression": "胸部CT平扫未见明显异常。", "recommendation": ""},
        {"findings": "The lungs are clear without nodules or consolidation. The trachea and main "
         "bronchi are patent. No mediastinal lymphadenopathy. No pleural effusion.",
         "impression": "No acute abnormality of the chest.", "recommendation": ""},
        [_number("nodule_mm", "最大结节直径", "Largest nodule diameter", "mm"),
         _choice("lung_rads", "Lung-RADS 分类", "Lung-RADS category",
                 ["1", "2", "3", "4A", "4B", "4X"])],
    ),
    "head-ct": (
        "CT", "HEAD", ("头颅CT", "Head CT"),
        {"findings": "脑实质密度均匀，未见异常密度影。脑室系统大小形态正常，"
         "中线结构居中。颅骨未见骨折。",
         "impression": "头颅CT平扫未见明显异常。", "recommendation": ""},
        {"findings": "The brain parenchyma is of uniform attenuation without abnormal density. The "
         "ventricles are normal in size; midline structures are central. No skull fracture.",
         "impression": "No acute intracranial abnormality.", "recommendation": ""},
        [_choice("hemorrhage", "颅内出血", "Intracranial haemorrhage",
                 ["none", "epidural", "subdural", "subarachnoid", "intraparenchymal"])],
    ),
    "brain-mr": (
        "MR", "BRAIN", ("头颅MR", "Brain MR"),
        {"findings": "脑实质信号均匀，未见异常信号。DWI未见弥散受限。脑室系统及脑沟脑池未见异常。",
         "impression": "头颅MR平扫未见明显异常。", "recommendation": ""},
        {"findings": "Normal signal of the brain parenchyma. No restricted diffusion. The "
         "ventricles, sulci and cisterns are normal.",
         "impression": "Normal MR of the brain.", "recommendation": ""},
        [_number("lesion_mm", "病灶最大径", "Largest lesion diameter", "mm")],
    ),
    "abdomen-ct": (
        "CT", "ABDOMEN", ("腹部CT", "Abdominal CT"),
        {"findings": "肝脏大小形态正常，实质密度均匀。胆囊不大，壁不厚。胰腺、脾脏及双肾未见异常。"
         "腹腔内未见积液及肿大淋巴结。",
         "impression": "腹部CT未见明显异常。", "recommendation": ""},
        {"findings": "The liver is normal in size with homogeneous attenuation. The gallbladder, "
         "pancreas, spleen and kidneys are unremarkable. No ascites or lymphadenopathy.",
         "impression": "No acute abdominal abnormality.", "recommendation": ""},
        [],
    ),
    "abdomen-us": (
        "US", "ABDOMEN", ("腹部超声", "Abdominal ultrasound"),
        {"findings": "肝脏形态大小正常，包膜光滑，实质回声均匀。胆囊壁光滑，"
         "腔内未见强回声。胰腺、脾脏"
         "及双肾未见明显异常。",
         "impression": "肝胆胰脾双肾超声未见明显异常。", "recommendation": ""},
        {"findings": "The liver is normal in size and echotexture. The gallbladder wall is smooth "
         "without stones. The pancreas, spleen and kidneys are unremarkable.",
         "impression": "Normal abdominal ultrasound.", "recommendation": ""},
        [_number("liver_cm", "肝右叶斜径", "Right liver lobe", "cm")],
    ),
    "lumbar-mr": (
        "MR", "LSPINE", ("腰椎MR", "Lumbar spine MR"),
        {"findings": "腰椎生理曲度存在，椎体信号均匀。各椎间盘未见明显突出，椎管未见狭窄。",
         "impression": "腰椎MR未见明显异常。", "recommendation": ""},
        {"findings": "Normal lumbar lordosis and vertebral body signal. No disc herniation or "
         "spinal canal stenosis.",
         "impression": "Normal MR of the lumbar spine.", "recommendation": ""},
        [_choice("herniation_level", "椎间盘突出节段", "Disc herniation level",
                 ["none", "L1/2", "L2/3", "L3/4", "L4/5", "L5/S1"])],
    ),
    "mammography": (
        "MG", "BREAST", ("乳腺钼靶", "Mammography"),
        {"findings": "双侧乳腺呈散在纤维腺体型，未见明确肿块、结构扭曲及可疑钙化。"
         "双侧腋下未见肿大淋巴结。",
         "impression": "双侧乳腺未见明显异常。", "recommendation": "建议常规筛查随访。"},
        {"findings": "Scattered fibroglandular breast tissue. No mass, architectural distortion or "
         "suspicious calcification. No axillary lymphadenopathy.",
         "impression": "No mammographic evidence of malignancy.",
         "recommendation": "Routine screening follow-up."},
        [_choice("birads", "BI-RADS 分类", "BI-RADS category",
                 ["0", "1", "2", "3", "4A", "4B", "4C", "5", "6"])],
    ),
}  # fmt: skip


def ensure_starter_templates(session: Session) -> None:
    """Insert or refresh the built-in templates (custom ones are never touched)."""
    existing = {
        (t.code, t.language): t
        for t in session.scalars(select(ReportTemplate).where(ReportTemplate.builtin.is_(True)))
    }
    for code, (modality, body_part, names, zh, en, fields) in STARTER.items():
        for index, (language, sections) in enumerate((("zh-CN", zh), ("en", en))):
            row = existing.get((code, language)) or ReportTemplate(
                code=code, language=language, builtin=True
            )
            row.name, row.modality, row.body_part = names[index], modality, body_part
            row.sections = sections
            row.fields = [pair[index] for pair in fields]
            session.add(row)
