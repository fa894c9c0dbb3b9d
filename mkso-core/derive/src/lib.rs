//! Derive macros of mkso (re-exported as `mkso::Resource` and
//! `mkso::ResourceOutputs`; use them through `mkso`, not this crate).
//!
//! `#[derive(Resource)]` goes on a resource type's *inputs* struct and
//! declares the whole type from it: the handle a program holds, the
//! arguments with a builder whose required inputs are checked at compile
//! time, the per-property metadata the engine and providers diff with, and a
//! typed view of inputs that may still be unknown. `#[derive(ResourceOutputs)]`
//! goes on the outputs struct and gives the handle one accessor per output.
//! See the `mkso::typed` module docs for the attributes.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{
    Attribute, Data, DeriveInput, Fields, GenericArgument, Ident, LitStr, PathArguments, Type,
    parse_macro_input, spanned::Spanned,
};

/// Declares a resource type from its inputs struct; see the crate docs.
#[proc_macro_derive(Resource, attributes(mkso))]
pub fn derive_resource(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    resource(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Gives a resource handle one typed accessor per output; see the crate docs.
#[proc_macro_derive(ResourceOutputs, attributes(mkso))]
pub fn derive_outputs(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    outputs(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Makes `&Struct` registrable as a component's outputs: its `Output`/`Input`
/// fields become the properties.
#[proc_macro_derive(ComponentOutputs)]
pub fn derive_component_outputs(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    component_outputs(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn is_output(ty: &Type) -> bool {
    matches!(ungroup(ty), Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Output" || s.ident == "Input"))
}

fn component_outputs(input: DeriveInput) -> syn::Result<TokenStream2> {
    let name = &input.ident;
    let (ig, tg, wc) = input.generics.split_for_impl();
    let mut entries = Vec::new();
    for f in &named_fields(&input)?.named {
        if !is_output(&f.ty) {
            continue;
        }
        let id = f.ident.as_ref().expect("named");
        let n = id.unraw().to_string();
        entries.push(quote! { (#n, self.#id.clone().into_json()), });
    }
    if entries.is_empty() {
        return Err(syn::Error::new(
            input.span(),
            "#[derive(ComponentOutputs)] needs at least one `Output<T>` field",
        ));
    }
    Ok(quote! {
        impl #ig ::mkso::IntoComponentOutputs for &#name #tg #wc {
            fn into_component_outputs(self) -> ::mkso::Output<::mkso::serde_json::Value> {
                ::mkso::Output::object(::std::vec![#(#entries)*])
            }
        }
    })
}

#[derive(Default)]
struct TypeAttrs {
    token: Option<LitStr>,
    resource: Option<Ident>,
    args: Option<Ident>,
    outputs: Option<Ident>,
    planned: Option<Ident>,
}

fn type_attrs(attrs: &[Attribute]) -> syn::Result<TypeAttrs> {
    let mut t = TypeAttrs::default();
    for a in attrs.iter().filter(|a| a.path().is_ident("mkso")) {
        a.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "type" => t.token = Some(meta.value()?.parse()?),
                "resource" => t.resource = Some(meta.value()?.parse()?),
                "args" => t.args = Some(meta.value()?.parse()?),
                "outputs" => t.outputs = Some(meta.value()?.parse()?),
                "planned" => t.planned = Some(meta.value()?.parse()?),
                _ => {
                    return Err(meta.error(
                        "unknown mkso attribute: expected `type`, `resource`, `args`, `outputs` or `planned`",
                    ));
                }
            }
            Ok(())
        })?;
    }
    Ok(t)
}

#[derive(Default)]
struct FieldAttrs {
    replace: bool,
    secret: bool,
    ignore_diff: bool,
    tags: bool,
    computed: bool,
    serde_default: bool,
    serde_default_path: bool,
    serde_rename: bool,
}

fn field_attrs(attrs: &[Attribute]) -> syn::Result<FieldAttrs> {
    let mut f = FieldAttrs::default();
    for a in attrs {
        if a.path().is_ident("mkso") {
            a.parse_nested_meta(|meta| {
                let key = meta
                    .path
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                match key.as_str() {
                    "replace" => f.replace = true,
                    "secret" => f.secret = true,
                    "ignore_diff" => f.ignore_diff = true,
                    "tags" => f.tags = true,
                    "computed" => f.computed = true,
                    _ => {
                        return Err(meta.error(
                            "unknown mkso field attribute: expected `replace`, `secret`, `ignore_diff`, `tags` (inputs) or `computed`, `secret` (outputs)",
                        ));
                    }
                }
                Ok(())
            })?;
        } else if a.path().is_ident("serde") {
            // Only what matters here: `default` makes an input optional;
            // renames are refused (the property name is the field name).
            let _ = a.parse_nested_meta(|meta| {
                if meta.path.is_ident("default") {
                    f.serde_default = true;
                    f.serde_default_path = meta.input.peek(syn::Token![=]);
                } else if meta.path.is_ident("rename") || meta.path.is_ident("alias") {
                    f.serde_rename = true;
                }
                skip_value(&meta)
            });
        }
    }
    Ok(f)
}

/// Steps over a nested meta's value (`= expr` or `(...)`): serde attributes
/// mkso does not read.
fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        let _: TokenStream2 = content.parse()?;
    }
    Ok(())
}

fn docs(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("doc")).collect()
}

fn doc_text(attrs: &[Attribute]) -> String {
    let mut out = Vec::new();
    for a in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let syn::Meta::NameValue(nv) = &a.meta
            && let syn::Expr::Lit(l) = &nv.value
            && let syn::Lit::Str(s) = &l.lit
        {
            out.push(s.value().trim().to_string());
        }
    }
    out.join(" ")
}

/// The type itself, out of the invisible group `macro_rules!` puts around a
/// `$t:ty` (as `mkso::resource!` passes its field types).
fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => ungroup(&g.elem),
        Type::Paren(p) => ungroup(&p.elem),
        t => t,
    }
}

/// `T` when `ty` is `Option<T>`.
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ungroup(ty) else {
        return None;
    };
    let seg = p.path.segments.last()?;
    if seg.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

struct Field<'a> {
    ident: &'a Ident,
    ty: &'a Type,
    attrs: FieldAttrs,
    docs: Vec<&'a Attribute>,
    doc: String,
}

impl Field<'_> {
    fn required(&self) -> bool {
        !self.attrs.serde_default && option_inner(self.ty).is_none()
    }
}

fn named_fields(input: &DeriveInput) -> syn::Result<&syn::FieldsNamed> {
    match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(n) => Ok(n),
            _ => Err(syn::Error::new(
                input.span(),
                "mkso resource types are structs with named fields",
            )),
        },
        _ => Err(syn::Error::new(
            input.span(),
            "mkso resource types are structs with named fields",
        )),
    }
}

/// Property names are field names: container renames and generics would
/// make the metadata disagree with what serde writes.
fn plain_struct(input: &DeriveInput, what: &str) -> syn::Result<()> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            format!("{what} cannot be generic"),
        ));
    }
    for a in input.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let mut renamed = false;
        let _ = a.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") || meta.path.is_ident("rename_all_fields") {
                renamed = true;
            }
            skip_value(&meta)
        });
        if renamed {
            return Err(syn::Error::new(
                a.span(),
                format!("{what}: a property's name is its field's name: drop `rename_all`"),
            ));
        }
    }
    Ok(())
}

fn resource(input: DeriveInput) -> syn::Result<TokenStream2> {
    plain_struct(&input, "a resource's inputs struct")?;
    let t = type_attrs(&input.attrs)?;
    let inputs = &input.ident;
    let vis = &input.vis;
    let token = t.token.ok_or_else(|| {
        syn::Error::new(
            Span::call_site(),
            "#[derive(Resource)] needs #[mkso(type = \"package:module:Type\", resource = Name, outputs = NameOutputs)]",
        )
    })?;
    if token.value().split(':').count() != 3 {
        return Err(syn::Error::new(
            token.span(),
            "a type token has the form `package:module:Type`",
        ));
    }
    let name = t.resource.ok_or_else(|| {
        syn::Error::new(
            Span::call_site(),
            "missing #[mkso(resource = Name)]: the handle type a program holds",
        )
    })?;
    let outs = t.outputs.ok_or_else(|| {
        syn::Error::new(
            Span::call_site(),
            "missing #[mkso(outputs = NameOutputs)]: the outputs struct",
        )
    })?;
    let args = t.args.unwrap_or_else(|| format_ident!("{}Args", name));
    let builder = format_ident!("{}Builder", args);
    let planned = t
        .planned
        .unwrap_or_else(|| format_ident!("{}Planned", name));
    let fields_mod = format_ident!("__{}_fields", name.to_string().to_lowercase());

    let mut fields = Vec::new();
    for f in &named_fields(&input)?.named {
        let attrs = field_attrs(&f.attrs)?;
        if attrs.serde_rename {
            return Err(syn::Error::new(
                f.span(),
                "a resource input's property name is its field name: drop the serde rename",
            ));
        }
        if attrs.serde_default_path {
            return Err(syn::Error::new(
                f.span(),
                "an optional input defaults to `Default::default()`: use `#[serde(default)]` (or an `Option<T>` the provider reads with its default)",
            ));
        }
        if attrs.computed {
            return Err(syn::Error::new(
                f.span(),
                "`computed` belongs on an output field (of the #[derive(ResourceOutputs)] struct)",
            ));
        }
        fields.push(Field {
            ident: f.ident.as_ref().expect("named"),
            ty: &f.ty,
            docs: docs(&f.attrs),
            doc: doc_text(&f.attrs),
            attrs,
        });
    }
    let tags_fields: Vec<_> = fields.iter().filter(|f| f.attrs.tags).collect();
    if tags_fields.len() > 1 {
        return Err(syn::Error::new(
            tags_fields[1].ident.span(),
            "only one field can be #[mkso(tags)]",
        ));
    }
    let required: Vec<&Field<'_>> = fields.iter().filter(|f| f.required()).collect();
    let optional: Vec<&Field<'_>> = fields.iter().filter(|f| !f.required()).collect();

    // ---- metadata ----
    let props = fields.iter().map(|f| {
        let n = f.ident.unraw().to_string();
        let (replace, secret, ignore, tags) = (
            f.attrs.replace,
            f.attrs.secret,
            f.attrs.ignore_diff,
            f.attrs.tags,
        );
        let req = f.required();
        let doc = &f.doc;
        quote! {
            ::mkso::typed::Property {
                name: #n,
                required: #req,
                replace: #replace,
                secret: #secret,
                ignore_diff: #ignore,
                tags: #tags,
                doc: #doc,
            }
        }
    });
    let tags_fn = match tags_fields.first() {
        Some(f) => {
            let id = f.ident;
            quote! {
                fn tags(inputs: &Self::Inputs) -> ::std::option::Option<&::std::collections::BTreeMap<::std::string::String, ::std::string::String>> {
                    ::std::option::Option::Some(&inputs.#id)
                }
            }
        }
        None => quote! {},
    };

    // ---- args and builder ----
    let arg_fields = fields.iter().map(|f| {
        let (id, ty, d) = (f.ident, f.ty, &f.docs);
        quote! { #(#d)* pub #id: ::mkso::Input<#ty>, }
    });
    let into_inputs = fields.iter().map(|f| {
        let id = f.ident;
        let n = id.unraw().to_string();
        if f.attrs.secret {
            // Secret whatever the program passed.
            quote! { (#n, self.#id.into_secret().into_json()), }
        } else {
            quote! { (#n, self.#id.into_json()), }
        }
    });
    let setter = |f: &Field<'_>, body: TokenStream2, ret: TokenStream2| {
        let (id, ty, d) = (f.ident, f.ty, &f.docs);
        match option_inner(ty) {
            Some(inner) => quote! {
                #(#d)*
                #[doc = ""]
                #[doc = "Optional: takes a value, an `Output` of one, or an `Output` of an `Option`."]
                #[must_use]
                pub fn #id(self, value: impl ::mkso::typed::IntoOptionalInput<#inner>) -> #ret {
                    let value: ::mkso::Input<#ty> = value.into_optional_input();
                    #body
                }
            },
            None => quote! {
                #(#d)*
                #[must_use]
                pub fn #id(self, value: impl ::std::convert::Into<::mkso::Input<#ty>>) -> #ret {
                    let value: ::mkso::Input<#ty> = value.into();
                    #body
                }
            },
        }
    };
    let state_params: Vec<Ident> = (0..required.len())
        .map(|i| format_ident!("S{}", i))
        .collect();
    let marker_names: Vec<Ident> = required.iter().map(|f| f.ident.clone()).collect();
    let all_missing: Vec<TokenStream2> = marker_names
        .iter()
        .map(|m| quote! { ::mkso::typed::Missing<#fields_mod::#m> })
        .collect();
    let all_set: Vec<TokenStream2> = required
        .iter()
        .map(|_| quote! { ::mkso::typed::Set })
        .collect();
    let builder_req_fields = required.iter().map(|f| {
        let (id, ty) = (f.ident, f.ty);
        quote! { #id: ::std::option::Option<::mkso::Input<#ty>>, }
    });
    let builder_opt_fields = optional.iter().map(|f| {
        let (id, ty) = (f.ident, f.ty);
        quote! { #id: ::mkso::Input<#ty>, }
    });
    let builder_init = fields.iter().map(|f| {
        let id = f.ident;
        if f.required() {
            quote! { #id: ::std::option::Option::None, }
        } else {
            quote! { #id: ::std::default::Default::default(), }
        }
    });
    let all_idents: Vec<&Ident> = fields.iter().map(|f| f.ident).collect();
    let req_setters = required.iter().enumerate().map(|(j, f)| {
        let others: Vec<&Ident> = state_params
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != j)
            .map(|(_, p)| p)
            .collect();
        let before: Vec<TokenStream2> = state_params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i == j {
                    let m = &marker_names[j];
                    quote! { ::mkso::typed::Missing<#fields_mod::#m> }
                } else {
                    quote! { #p }
                }
            })
            .collect();
        let after: Vec<TokenStream2> = state_params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i == j {
                    quote! { ::mkso::typed::Set }
                } else {
                    quote! { #p }
                }
            })
            .collect();
        let id = f.ident;
        let moves = all_idents
            .iter()
            .filter(|x| **x != id)
            .map(|x| quote! { #x: self.#x, });
        let s = setter(
            f,
            quote! {
                #builder {
                    #id: ::std::option::Option::Some(value),
                    #(#moves)*
                    _state: ::std::marker::PhantomData,
                }
            },
            quote! { #builder<#(#after),*> },
        );
        quote! {
            impl<#(#others),*> #builder<#(#before),*> {
                #s
            }
        }
    });
    let opt_setters: Vec<TokenStream2> = optional
        .iter()
        .map(|f| {
            let id = f.ident;
            setter(
                f,
                quote! { let mut this = self; this.#id = value; this },
                quote! { Self },
            )
        })
        .collect();
    let build_fields = fields.iter().map(|f| {
        let id = f.ident;
        if f.required() {
            quote! { #id: b.#id.expect("set: the builder's type says so"), }
        } else {
            quote! { #id: b.#id, }
        }
    });
    let phantom = if state_params.is_empty() {
        quote! { ::std::marker::PhantomData<()> }
    } else {
        quote! { ::std::marker::PhantomData<fn() -> (#(#state_params,)*)> }
    };
    let builder_generics = if state_params.is_empty() {
        quote! {}
    } else {
        quote! { <#(#state_params),*> }
    };
    let builder_missing = if all_missing.is_empty() {
        quote! {}
    } else {
        quote! { <#(#all_missing),*> }
    };
    let builder_set = if all_set.is_empty() {
        quote! {}
    } else {
        quote! { <#(#all_set),*> }
    };
    let opt_impl = quote! {
        impl #builder_generics #builder #builder_generics {
            #(#opt_setters)*
        }
    };
    // With no required input the arguments themselves chain too:
    // `DataArgs::default().value(..)`.
    let no_required = if required.is_empty() {
        let opt_setters2 = optional.iter().map(|f| {
            let id = f.ident;
            setter(
                f,
                quote! { let mut this = self; this.#id = value; this },
                quote! { Self },
            )
        });
        quote! {
            impl ::std::default::Default for #args {
                fn default() -> Self {
                    #args::builder().into()
                }
            }
            impl #args {
                #(#opt_setters2)*
            }
        }
    } else {
        quote! {}
    };
    let marker_structs = marker_names.iter().map(|m| {
        quote! {
            #[allow(non_camel_case_types)]
            #[derive(Debug)]
            pub struct #m;
        }
    });

    // ---- planned view ----
    let planned_fields = fields.iter().map(|f| {
        let (id, ty, d) = (f.ident, f.ty, &f.docs);
        quote! { #(#d)* pub #id: ::mkso::typed::Planned<#ty>, }
    });
    let planned_init = fields.iter().map(|f| {
        let id = f.ident;
        let n = id.unraw().to_string();
        quote! { #id: ::mkso::typed::Planned::from_json(#n, map.get(#n))?, }
    });

    let args_doc = format!(
        "Arguments of [`{name}`]: each a plain value or an output. Start with [`{args}::builder`]; a required input left out does not compile."
    );
    let builder_doc = format!(
        "Builds [`{args}`]: set every required input (a `Missing<..>` in the type names one still missing), then pass it to [`{name}::new`]."
    );
    let planned_doc = format!(
        "The inputs of [`{name}`] as a plan sees them: each property known or not yet known."
    );
    let handle_doc = format!(
        "A declared `{}` resource (see [`{inputs}`]).",
        token.value()
    );
    let type_docs = docs(&input.attrs);

    Ok(quote! {
        #(#type_docs)*
        #[doc = ""]
        #[doc = #handle_doc]
        #[derive(Debug, Clone)]
        #vis struct #name {
            registered: ::mkso::Registered,
        }

        impl ::mkso::ResourceRef for #name {
            fn urn(&self) -> &::mkso::Urn {
                self.registered.urn()
            }
        }

        impl ::mkso::Resource for #name {
            const TYPE: &'static str = #token;
            type Args = #args;
            type Inputs = #inputs;
            type Outputs = #outs;
            fn from_registered(r: ::mkso::Registered) -> Self {
                #name { registered: r }
            }
            fn registered(&self) -> &::mkso::Registered {
                &self.registered
            }
        }

        impl ::mkso::typed::TypedResource for #name {
            const PROPERTIES: &'static [::mkso::typed::Property] = &[#(#props),*];
            const COMPUTED_OUTPUTS: &'static [&'static str] =
                <#outs as ::mkso::typed::OutputsMeta>::COMPUTED;
            const SECRET_OUTPUTS: &'static [&'static str] =
                <#outs as ::mkso::typed::OutputsMeta>::SECRET;
            type Planned = #planned;
            fn planned(inputs: &::mkso::serde_json::Value) -> ::std::result::Result<#planned, ::mkso::typed::PlannedError> {
                let empty = ::mkso::serde_json::Map::new();
                let map = inputs.as_object().unwrap_or(&empty);
                ::std::result::Result::Ok(#planned { #(#planned_init)* })
            }
            #tags_fn
        }

        impl #name {
            /// The type token.
            pub const TYPE: &'static str = #token;

            /// Declares the resource in the stack.
            #[track_caller]
            pub fn new(
                stack: &::mkso::Stack,
                name: &str,
                args: impl ::std::convert::Into<#args>,
                opts: ::mkso::ResourceOptions,
            ) -> ::std::result::Result<Self, ::mkso::Error> {
                ::mkso::typed::note_placeholders(
                    #token,
                    <#outs as ::mkso::typed::OutputsMeta>::PLACEHOLDERS,
                );
                stack.register::<#name>(name, args.into(), opts)
            }
        }

        #[doc = #args_doc]
        #[derive(Debug, Clone)]
        #vis struct #args {
            #(#arg_fields)*
        }

        impl #args {
            /// A builder with nothing set.
            pub fn builder() -> #builder #builder_missing {
                #builder {
                    #(#builder_init)*
                    _state: ::std::marker::PhantomData,
                }
            }
        }

        #no_required

        impl ::mkso::ResourceArgs for #args {
            fn into_inputs(self) -> ::mkso::Output<::mkso::serde_json::Value> {
                ::mkso::Output::object(::std::vec![#(#into_inputs)*])
            }
        }

        #[doc(hidden)]
        #[allow(non_snake_case)]
        #vis mod #fields_mod {
            #(#marker_structs)*
        }

        #[doc = #builder_doc]
        #[derive(Debug, Clone)]
        #[must_use = "pass the builder to `new`"]
        #vis struct #builder #builder_generics {
            #(#builder_req_fields)*
            #(#builder_opt_fields)*
            _state: #phantom,
        }

        #(#req_setters)*
        #opt_impl

        impl ::std::convert::From<#builder #builder_set> for #args {
            fn from(b: #builder #builder_set) -> Self {
                #args { #(#build_fields)* }
            }
        }

        #[doc = #planned_doc]
        #[derive(Debug, Clone, PartialEq)]
        #vis struct #planned {
            #(#planned_fields)*
        }
    })
}

fn outputs(input: DeriveInput) -> syn::Result<TokenStream2> {
    plain_struct(&input, "a resource's outputs struct")?;
    let t = type_attrs(&input.attrs)?;
    let name = t.resource.ok_or_else(|| {
        syn::Error::new(
            Span::call_site(),
            "#[derive(ResourceOutputs)] needs #[mkso(resource = Name)]: the handle type to give accessors",
        )
    })?;
    let outs = &input.ident;
    let mut accessors = Vec::new();
    let mut computed = Vec::new();
    let mut secret = Vec::new();
    let mut placeholders = Vec::new();
    for f in &named_fields(&input)?.named {
        let id = f.ident.as_ref().expect("named");
        let a = field_attrs(&f.attrs)?;
        if a.serde_rename {
            return Err(syn::Error::new(
                f.span(),
                "an output's property name is its field name: drop the serde rename",
            ));
        }
        if a.replace || a.ignore_diff || a.tags {
            return Err(syn::Error::new(
                f.span(),
                "an output field takes `computed` or `secret`; `replace`, `ignore_diff` and `tags` belong on inputs",
            ));
        }
        if a.computed {
            computed.push(id.unraw().to_string());
        }
        if a.secret {
            secret.push(id.unraw().to_string());
        }
        let ty = &f.ty;
        let d = docs(&f.attrs);
        let n = id.unraw().to_string();
        if let Some(kind) = placeholder(ty) {
            let kind = syn::Ident::new(kind, Span::call_site());
            placeholders.push(quote! { (#n, ::mkso::typed::Placeholder::#kind) });
        }
        accessors.push(quote! {
            #(#d)*
            pub fn #id(&self) -> ::mkso::Output<#ty> {
                ::mkso::Registered::property(&self.registered, #n)
            }
        });
    }
    Ok(quote! {
        impl #name {
            #(#accessors)*
        }

        impl ::mkso::typed::OutputsMeta for #outs {
            const COMPUTED: &'static [&'static str] = &[#(#computed),*];
            const SECRET: &'static [&'static str] = &[#(#secret),*];
            const PLACEHOLDERS: &'static [(&'static str, ::mkso::typed::Placeholder)] =
                &[#(#placeholders),*];
        }
    })
}

/// The kind of stand-in value of a required output of type `ty` (an
/// `Option` needs none).
fn placeholder(ty: &syn::Type) -> Option<&'static str> {
    let syn::Type::Path(p) = ty else {
        return None;
    };
    let last = p.path.segments.last()?.ident.to_string();
    Some(match last.as_str() {
        "String" => "Text",
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "f32" | "f64" => {
            "Number"
        }
        "bool" => "Flag",
        "Vec" => "List",
        "BTreeMap" | "HashMap" => "Map",
        _ => return None,
    })
}
