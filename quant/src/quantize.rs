//! Mixed-precision quantization of a whole model by a [`Recipe`], through ggml's own functions.
//!
//! Each tensor whose type changes is read in chunks of rows, de-quantized by ggml's `to_float` (a no-op
//! copy for F32), quantized by `ggml_quantize_chunk` and validated by `ggml_validate_row_data`; tensors whose
//! type stays are copied byte for byte. The metadata is kept in order, with `general.file_type` updated
//! (the recipe's, or the "mostly X" type of the largest share of bytes), `general.quantization_version = 2`
//! (what llama.cpp writes) when anything is quantized, and `medllm.quantize.recipe` naming the recipe.
//!
//! Re-quantizing an already quantized tensor (e.g. Q4_K_M → paper) compounds two rounding errors; as
//! `llama-quantize` does, it is refused unless asked for (`allow_requantize`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use medllm_gguf::{FileType, GgmlType, GgufHeader, TensorInfo, Value};

use crate::error::{QuantError, Result};
use crate::ggml;
use crate::model_file::ModelFile;
use crate::output::Output;
use crate::recipe::{Choice, Recipe};
use crate::stream::{self, Threads};
use crate::synth::llama::file_type_for;

/// Settings for [`quantize`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuantizeOptions {
    /// Worker threads.
    pub threads: Threads,
    /// Allow converting tensors that are already quantized.
    pub allow_requantize: bool,
}

/// What happens to one tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorPlan {
    /// Tensor name.
    pub name: String,
    /// Its type in the input.
    pub from: GgmlType,
    /// The recipe's choice.
    pub choice: Choice,
    /// Bytes in the input.
    pub bytes_in: u64,
    /// Bytes in the output.
    pub bytes_out: u64,
}

/// Bytes per type on one side of a conversion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TypeTotal {
    /// Tensors of this type.
    pub tensors: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// The outcome of [`quantize`] (or of [`plan`], with the file sizes estimated from the headers).
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizeReport {
    /// The recipe's name.
    pub recipe: String,
    /// One entry per tensor, in data order.
    pub tensors: Vec<TensorPlan>,
    /// Input file size.
    pub file_bytes_in: u64,
    /// Output file size.
    pub file_bytes_out: u64,
    /// `general.file_type` written.
    pub file_type: FileType,
    /// Wall time (0 for a plan).
    pub seconds: f64,
}

impl QuantizeReport {
    /// Bytes per type in the input.
    pub fn by_type_in(&self) -> BTreeMap<GgmlType, TypeTotal> {
        totals(self.tensors.iter().map(|t| (t.from, t.bytes_in)))
    }

    /// Bytes per type in the output.
    pub fn by_type_out(&self) -> BTreeMap<GgmlType, TypeTotal> {
        totals(self.tensors.iter().map(|t| (t.choice.ty, t.bytes_out)))
    }

    /// Tensors whose asked-for type did not fit and fell back.
    pub fn fallbacks(&self) -> impl Iterator<Item = &TensorPlan> {
        self.tensors
            .iter()
            .filter(|t| t.choice.fallback_from.is_some())
    }
}

fn totals(it: impl Iterator<Item = (GgmlType, u64)>) -> BTreeMap<GgmlType, TypeTotal> {
    let mut m: BTreeMap<GgmlType, TypeTotal> = BTreeMap::new();
    for (ty, bytes) in it {
        let e = m.entry(ty).or_default();
        e.tensors += 1;
        e.bytes += bytes;
    }
    m
}

/// What quantizing `input` with `recipe` would do, and the output's header — without writing anything.
pub fn plan(input: &GgufHeader, recipe: &Recipe) -> Result<(QuantizeReport, GgufHeader)> {
    let mut order: Vec<&TensorInfo> = input.tensors().iter().collect();
    order.sort_by_key(|t| t.offset());
    let mut plans = Vec::with_capacity(order.len());
    let mut tensors = Vec::with_capacity(order.len());
    for t in order {
        let choice = recipe.choose(t);
        if choice.ty != t.ggml_type() {
            if !ggml::can_dequantize(t.ggml_type()) {
                return Err(QuantError::Unsupported {
                    tensor: t.name().to_owned(),
                    what: "dequantize",
                    ty: t.ggml_type(),
                });
            }
            if !ggml::can_quantize(choice.ty) || ggml::requires_imatrix(choice.ty) {
                return Err(QuantError::Unsupported {
                    tensor: t.name().to_owned(),
                    what: "quantize to",
                    ty: choice.ty,
                });
            }
        }
        let out = TensorInfo::new(t.name(), t.dims().to_vec(), choice.ty, 0)
            .map_err(QuantError::Header)?;
        plans.push(TensorPlan {
            name: t.name().to_owned(),
            from: t.ggml_type(),
            bytes_in: t.n_bytes(),
            bytes_out: out.n_bytes(),
            choice,
        });
        tensors.push(out);
    }
    let mut report = QuantizeReport {
        recipe: recipe.name.clone(),
        tensors: plans,
        file_bytes_in: input
            .file_len()
            .unwrap_or_else(|| input.expected_file_len()),
        file_bytes_out: 0,
        file_type: FileType(1024),
        seconds: 0.0,
    };
    report.file_type = recipe
        .file_type
        .unwrap_or_else(|| dominant_file_type(&report));
    let mut meta = input.metadata().clone();
    meta.set("general.file_type", Value::U32(report.file_type.0));
    if report.tensors.iter().any(|t| t.choice.ty.is_quantized()) {
        meta.set("general.quantization_version", Value::U32(2));
    }
    meta.set(
        "medllm.quantize.recipe",
        Value::String(recipe.name.as_str().into()),
    );
    let header = GgufHeader::new(input.version(), meta, tensors).map_err(QuantError::Header)?;
    report.file_bytes_out = header.expected_file_len();
    Ok((report, header))
}

/// The "mostly X" file type of the type holding most bytes among the matrices.
fn dominant_file_type(report: &QuantizeReport) -> FileType {
    let by = totals(
        report
            .tensors
            .iter()
            .filter(|t| t.choice.reason != crate::recipe::Reason::NotQuantizable)
            .map(|t| (t.choice.ty, t.bytes_out)),
    );
    by.iter()
        .max_by_key(|(_, v)| v.bytes)
        .map_or(FileType(1024), |(ty, _)| file_type_for(*ty))
}

/// Quantizes `input` into `output` following `recipe`.
pub fn quantize(
    input: &Path,
    output: &Path,
    recipe: &Recipe,
    opts: QuantizeOptions,
) -> Result<QuantizeReport> {
    let started = Instant::now();
    let src = ModelFile::open(input)?;
    let (mut report, header) = plan(src.header(), recipe)?;
    if !opts.allow_requantize {
        let requant: Vec<String> = report
            .tensors
            .iter()
            .filter(|t| t.from.is_quantized() && t.choice.ty != t.from)
            .map(|t| format!("{} ({} → {})", t.name, t.from, t.choice.ty))
            .collect();
        if let Some(first) = requant.first() {
            return Err(QuantError::bad_input(
                input,
                format!(
                    "{} tensors are already quantized, e.g. {first}; re-quantizing loses quality twice \
                     (pass --allow-requantize to do it anyway, or start from an F16/F32 model)",
                    requant.len()
                ),
            ));
        }
    }
    let mut out = Output::create(output, header)?;
    loop {
        let w = out.writer()?;
        let Some(t_out) = w.next_tensor().cloned() else {
            break;
        };
        let t_in = src.header().tensor(t_out.name()).cloned().ok_or_else(|| {
            QuantError::Config(format!("{} vanished from the input header", t_out.name()))
        })?;
        if t_in.ggml_type() == t_out.ggml_type() {
            w.copy_tensor(&mut src.tensor_reader(&t_in))
                .map_err(|e| QuantError::gguf(src.path(), e))?;
            continue;
        }
        stream::write_tensor(w, &t_out, opts.threads, |c| {
            let mut rows = Vec::new();
            src.read_rows_f32(&t_in, c.first_row, c.nrows, &mut rows)?;
            let mut bytes = Vec::new();
            ggml::quantize(
                t_out.ggml_type(),
                &rows,
                c.row_len,
                None,
                &mut bytes,
                t_out.name(),
            )?;
            Ok(bytes)
        })?;
    }
    report.file_bytes_out = out.commit()?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
